//! The chapter's tokenizer comparison on the book's own text:
//! `cargo run --release -p ch02-input --example compare`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    print!("{}", ch02_input::compare::report()?);
    Ok(())
}

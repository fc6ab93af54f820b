//! Prints what the chapter shows for this section:
//! `cargo run --release -p ch01-foundations --example shapes`
fn main() {
    print!("{}", ch01_foundations::report::shapes());
}

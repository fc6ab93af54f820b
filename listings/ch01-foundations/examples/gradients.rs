//! Prints what the chapter shows for this section:
//! `cargo run --release -p ch01-foundations --example gradients`
fn main() {
    print!("{}", ch01_foundations::report::gradients_demo());
}

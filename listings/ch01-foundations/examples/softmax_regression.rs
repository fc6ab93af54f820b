//! Prints what the chapter shows for this section:
//! `cargo run --release -p ch01-foundations --example softmax_regression`
fn main() {
    print!("{}", ch01_foundations::report::regression_demo());
}

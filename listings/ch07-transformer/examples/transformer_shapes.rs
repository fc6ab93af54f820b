//! Prints the data flow and the parameter count of section "The full model":
//! `cargo run --release -p ch07-transformer --example transformer_shapes`
fn main() {
    print!("{}", ch07_transformer::demo::data_flow_demo());
    println!();
    print!("{}", ch07_transformer::demo::param_count_demo());
}

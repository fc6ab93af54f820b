//! The depth experiment: `cargo run --release -p ch05-encoder --example depth` (about 10 s)
fn main() {
    print!("{}", ch05_encoder::report::depth_grads_demo());
    println!();
    print!("{}", ch05_encoder::report::depth_training_demo());
}

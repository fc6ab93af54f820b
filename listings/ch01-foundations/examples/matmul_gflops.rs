//! Measures matmul GFLOP/s on one core against the core's FMA peak:
//! `cargo run --release -p ch01-foundations --example matmul_gflops`
fn main() {
    print!(
        "{}",
        ch01_foundations::report::matmul_table(&[64, 128, 256, 512, 1024])
    );
}

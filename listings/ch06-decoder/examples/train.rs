//! Trains the chapter's tiny decoder-only LM and prints its loss and generations:
//! `cargo run --release -p ch06-decoder --example train`
use std::time::Instant;

use ch06_decoder::report::train_report;
use ch06_decoder::train::{TRAIN, train};

fn main() {
    let start = Instant::now();
    let mut run = train(&TRAIN);
    let elapsed = start.elapsed();
    print!("{}", train_report(&TRAIN, &mut run));
    println!(
        "trained {} steps in {:.1} s",
        TRAIN.steps,
        elapsed.as_secs_f64()
    );
}

//! The initial-loss check on Chapter 9's Llama and GPT-2 (the book's vocabulary, the
//! run's sizes): at initialisation the loss should be about ln V; a bad initialisation
//! shows at step 0. Writes the table the text quotes.
//!
//! ```sh
//! cargo run --release -p ch11-training --example init_loss      # src/figures/ch11/init-loss.txt
//! ```

use std::path::PathBuf;

use ch09_decoder_only::train_run::{TrainConfig, book_tokens};
use ch11_training::stability::{init_report, init_table};

const WINDOWS: usize = 16;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or("src/figures/ch11".into()));
    let cfg = TrainConfig::full();
    let data = book_tokens(&cfg)?;
    let rows = init_table(&data, &cfg, WINDOWS);
    let n_tokens = WINDOWS * (cfg.schedule.context - 1);
    let report = init_report(&rows, data.vocab_size, n_tokens);
    print!("{report}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("init-loss.txt"), report)?;
    Ok(())
}

//! Prints what the BPE section shows and, given a folder, draws its figure:
//!
//! ```sh
//! cargo run --release -p ch02-input --example bpe_demo
//! cargo run --release -p ch02-input --example bpe_demo -- src/figures/ch02
//! ```

use std::path::PathBuf;

use ch02_input::bpe::{figures, report};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    print!("{}", report::demo());
    if let Some(dir) = std::env::args().nth(1) {
        for path in figures::write_all(&PathBuf::from(dir))? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

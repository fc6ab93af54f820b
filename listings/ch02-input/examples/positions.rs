//! Prints what the sections on positions show:
//! `cargo run --release -p ch02-input --example positions`
//! and redraws their figures:
//! `cargo run --release -p ch02-input --example positions -- --figures src/figures/ch02`
use std::path::Path;

use ch02_input::positions::{figures, report};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, dir] = args.as_slice()
        && flag == "--figures"
    {
        for path in figures::write_all(Path::new(dir))? {
            println!("wrote {}", path.display());
        }
        return Ok(());
    }
    if !args.is_empty() {
        return Err(format!("usage: positions [--figures DIR], got {args:?}").into());
    }
    println!("== sinusoidal ==\n{}", report::sinusoidal_demo());
    println!("== learned ==\n{}", report::learned_demo());
    println!("== RoPE ==\n{}", report::rope_demo());
    print!("== ALiBi ==\n{}", report::alibi_demo());
    Ok(())
}

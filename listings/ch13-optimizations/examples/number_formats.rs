//! The number-formats page's tables: each format's limits, a few of SmolLM2's weights
//! bit by bit, and the error of storing every weight class in fp16 and bf16.
//!
//! cargo run --release -p ch13-optimizations --example number_formats

use std::fmt::Write;
use std::path::Path;

use ch09_decoder_only::gguf::Gguf;
use ch13_optimizations::formats::{Precision, format_table, limits, weight};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch13");
    std::fs::create_dir_all(&out)?;
    let formats = [
        (Precision::F32, "fp32"),
        (Precision::F16, "fp16"),
        (Precision::Bf16, "bf16"),
    ];

    let mut t = format!(
        "{:<5} {:>4} {:>4} {:>5} {:>10} {:>10} {:>11} {:>11} {:>11}\n",
        "", "exp", "man", "bias", "ulp(1)", "u", "max", "min normal", "min subnorm"
    );
    for (p, name) in formats {
        let (e, m) = p.layout();
        let l = limits(p);
        writeln!(
            t,
            "{name:<5} {e:>4} {m:>4} {:>5} {:>10.3e} {:>10.3e} {:>11.4e} {:>11.4e} {:>11.4e}",
            (1 << (e - 1)) - 1,
            l.ulp_at_one,
            l.unit_roundoff,
            l.max,
            l.min_normal,
            l.min_subnormal
        )?;
    }
    std::fs::write(out.join("formats-limits.txt"), &t)?;
    print!("{t}");

    let dir = models::SMOLLM2_135M_INSTRUCT.dir()?;
    let g = Gguf::open(&dir.join(models::SMOLLM2_GGUF))?;
    let mut t = String::new();
    for (name, r, c) in [
        ("blk.0.attn_q.weight", 0, 0),
        ("blk.0.attn_q.weight", 0, 1),
        ("token_embd.weight", 0, 0),
        ("blk.0.attn_norm.weight", 0, 0),
    ] {
        let (w, ty) = weight(&g, name)?;
        let x = w[[r, c]];
        writeln!(t, "{name}[{r}, {c}] ({ty} in the file) = {x:e}")?;
        for (p, f) in formats {
            let y = p.round(x);
            let rel = (f64::from(y) - f64::from(x)).abs() / f64::from(x).abs();
            writeln!(
                t,
                "  {f:<5} {:<34} = {y:<14e} rel. error {rel:.2e}",
                p.fields(x)
            )?;
        }
    }
    std::fs::write(out.join("formats-fields.txt"), &t)?;
    print!("{t}");

    let t = format_table(&g, 30)?;
    std::fs::write(out.join("formats-error.txt"), &t)?;
    print!("{t}");
    Ok(())
}

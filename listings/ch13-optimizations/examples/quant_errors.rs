//! The integer-quantization page's measurements: every scheme's error on SmolLM2's
//! weights, the outlier channels of its activations with int8's error per tensor, per
//! token and per channel, and the figure of the outliers.
//!
//! cargo run --release -p ch13-optimizations --example quant_errors

use std::path::Path;

use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch13_optimizations::formats::weight;
use ch13_optimizations::schemes::{activation_report, column_absmax, weight_table};

const PROMPT: &str = "The weights of a language model are stored as numbers with a \
    limited number of bits. Quantization maps each weight to a small integer and a \
    scale, so that the model takes less memory and reads faster.";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch13");
    std::fs::create_dir_all(&out)?;
    let dir = models::SMOLLM2_135M_INSTRUCT.dir()?;
    let g = Gguf::open(&dir.join(models::SMOLLM2_GGUF))?;

    let t = weight_table(&g, 30)?;
    std::fs::write(out.join("schemes-weights.txt"), &t)?;
    print!("{t}");

    let ids = GgufTokenizer::from_gguf(&g)?.encode_ordinary(PROMPT);
    let model = Llama::from_gguf(&g)?;
    // The residual stream after the middle block, each token scaled to RMS 1: the final
    // RMSNorm's output divided by its per-channel weight γ.
    let gamma = weight(&g, "output_norm.weight")?.0.row(0).to_owned();
    if let Some(c) = gamma.iter().position(|&v| v == 0.0) {
        return Err(format!("output_norm.weight[{c}] is 0: cannot undo it").into());
    }
    let mid = model.first_layers(15).hidden(&ids) / &gamma;
    let head_input = model.hidden(&ids);
    let mut t = format!("prompt: {} tokens\n", ids.len());
    t += "== residual stream after block 15 of 30 (RMS-normalized tokens) ==\n";
    t += &activation_report(&mid, 6)?;
    t += "== input of the LM head (after the final RMSNorm) ==\n";
    t += &activation_report(&head_input, 6)?;
    std::fs::write(out.join("schemes-activations.txt"), &t)?;
    print!("{t}");

    let mut chart = LineChart::new(
        "SmolLM2: largest |x| of each channel, residual stream after block 15",
        "channel",
        "max |x| over the prompt's tokens",
    );
    for (label, x) in [
        ("after block 15 (RMS-normalized)", &mid),
        ("LM head input", &head_input),
    ] {
        let peak = column_absmax(x.view());
        let points = peak
            .iter()
            .enumerate()
            .map(|(c, &m)| (c as f64, f64::from(m)))
            .collect();
        chart.series.push(Series::new(label, points));
    }
    chart.points = true;
    write_line_chart(&out.join("outliers.svg"), &chart)?;
    Ok(())
}

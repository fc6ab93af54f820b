//! Speculative decoding on SmolLM2-135M, greedy: the acceptance rate and the wall-clock
//! speed-up over plain greedy decoding (Chapter 9's `Llama::greedy`) against the draft
//! length k = 1..=8, for prompt lookup (n = 2) and for the model's own first 6 layers
//! as a draft. Every speculative output is checked equal to the plain one. Writes
//! `src/figures/ch12/speculative.{svg,txt}`.

use ch01_foundations::linalg::load_average;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch12_inference::speculative::{Drafter, Sampling, SpecStats, speculative_generate};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Acceptance rate and speed-up of speculative decoding against k")]
struct Args {
    /// New tokens a prompt.
    #[arg(long, default_value_t = 48)]
    max_new: usize,
    /// Layers of the truncated-model draft.
    #[arg(long, default_value_t = 6)]
    draft_layers: usize,
    #[arg(long, default_value = "src/figures/ch12")]
    out: String,
}

const PROMPTS: [&str; 3] = [
    "def fib(n):\n    if n < 2:\n        return n\n    return",
    "The key-value cache stores the keys and values of every position, so that",
    "A list of the planets in order from the Sun: Mercury, Venus, Earth,",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let path = models::SMOLLM2_135M_INSTRUCT
        .dir()?
        .join(models::SMOLLM2_GGUF);
    let g = Gguf::open(&path)?;
    let (target, tok) = (Llama::from_gguf(&g)?, GgufTokenizer::from_gguf(&g)?);
    let small = target.first_layers(args.draft_layers);
    let prompts: Vec<Vec<u32>> = PROMPTS.iter().map(|p| tok.encode(p)).collect();
    let mut txt = format!(
        "# speculative decoding, greedy, SmolLM2-135M f32, {} prompts x {} new tokens\n\
         # load average (1, 5, 15 min) at start: {}\n",
        prompts.len(),
        args.max_new,
        load_average()
    );
    let t0 = Instant::now();
    let want: Vec<Vec<u32>> = prompts
        .iter()
        .map(|p| target.greedy(p, args.max_new, None))
        .collect();
    let base = t0.elapsed().as_secs_f64();
    writeln!(txt, "baseline seconds={base:.3}")?;
    // What one target pass of k + 1 rows (Chapter 9's multi-row path: packed matrix
    // products) costs next to a plain decoding step of one row (matrix-vector products),
    // after the first prompt (5 repetitions each, the cache rolled back every time).
    let mut cache = target.new_cache();
    target.hidden_cached(&prompts[0], &mut cache);
    let len = cache.len();
    let mut pass = |rows: usize| {
        let t = Instant::now();
        for _ in 0..5 {
            let h = target.hidden_cached(&want[0][..rows], &mut cache);
            if rows == 1 {
                std::hint::black_box(target.next_logits(&h)); // a plain decoding step
            } else {
                std::hint::black_box(target.logits(&h));
            }
            cache.truncate(len);
        }
        t.elapsed().as_secs_f64()
    };
    let one = pass(1);
    for k in 1..=8 {
        writeln!(
            txt,
            "pass_cost k={k} rows={} relative={:.2}",
            k + 1,
            pass(k + 1) / one
        )?;
    }
    let mut chart = LineChart::new(
        "Speculative decoding on SmolLM2-135M (greedy)",
        "draft length k",
        "speed-up (x) and acceptance rate",
    );
    chart.points = true;
    let names = ["lookup", &format!("{}-layer", args.draft_layers)];
    for name in names {
        let (mut speed, mut accept) = (vec![], vec![]);
        for k in 1..=8 {
            let (mut total, mut secs) = (SpecStats::default(), 0.0);
            for (p, want) in prompts.iter().zip(&want) {
                let mut drafter = match name {
                    "lookup" => Drafter::PromptLookup { n: 2 },
                    _ => Drafter::model(&small),
                };
                let t = Instant::now();
                let (got, s) = speculative_generate(
                    &target,
                    &mut drafter,
                    p,
                    (args.max_new, k),
                    Sampling::Greedy,
                    None,
                    &mut seeded_rng(0),
                )?;
                secs += t.elapsed().as_secs_f64();
                assert_eq!(&got, want, "{name}, k = {k}: not the greedy output");
                total.steps += s.steps;
                total.proposed += s.proposed;
                total.accepted += s.accepted;
            }
            let rate = total.acceptance_rate();
            let per_step = (prompts.len() * args.max_new) as f64 / total.steps as f64;
            writeln!(
                txt,
                "draft={name} k={k} acceptance={rate:.3} tokens_per_pass={per_step:.2} \
                 seconds={secs:.3} speedup={:.2}",
                base / secs
            )?;
            println!(
                "{name} k={k}: acceptance {rate:.3}, speed-up {:.2}",
                base / secs
            );
            speed.push((k as f64, base / secs));
            accept.push((k as f64, rate));
        }
        chart
            .series
            .push(Series::new(format!("{name}: speed-up"), speed));
        chart
            .series
            .push(Series::new(format!("{name}: acceptance rate"), accept));
    }
    writeln!(txt, "# load average at end: {}", load_average())?;
    let out = Path::new(&args.out);
    std::fs::write(out.join("speculative.txt"), &txt)?;
    write_line_chart(&out.join("speculative.svg"), &chart)?;
    print!("{txt}");
    Ok(())
}

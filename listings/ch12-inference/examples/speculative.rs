//! Speculative decoding on SmolLM2-135M, greedy: the acceptance rate and the wall-clock
//! speed-up over plain greedy decoding (Chapter 9's `Llama::greedy`) against the draft
//! length k = 1..=8, on two workloads: open-ended continuations, with prompt lookup
//! (n = 2) and the model's own first 6 layers as drafts, and a copying task (the chat
//! model asked to write out a text with its spelling corrected), with prompt lookup.
//! Every speculative output is checked equal to the plain one. Writes
//! `src/figures/ch12/speculative.{svg,txt}`.

use ch01_foundations::linalg::load_average;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::{GgufTokenizer, smollm2_chat_prompt};
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

/// Open-ended continuations: code, a sentence, a list.
const PROMPTS: [&str; 3] = [
    "def fib(n):\n    if n < 2:\n        return n\n    return",
    "The key-value cache stores the keys and values of every position, so that",
    "A list of the planets in order from the Sun: Mercury, Venus, Earth,",
];

/// Copying: the answer repeats the text of the request, nearly word for word.
const COPY_PROMPTS: [&str; 2] = [
    "Correct the spelling and write the text out in full:\n\nThe kee-value cache stores \
     the keys and values of evry earlier position, so that each new token only computes \
     its own row. Without it, generating a token would recompute the hole prefix.",
    "Correct the spelling and write the text out in full:\n\nSpeculative decoding lets \
     a cheap draft guess the next few tokens. The target model then checks all of the \
     guesses in one pass and keeps the longest prefix it agres with.",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let path = models::SMOLLM2_135M_INSTRUCT
        .dir()?
        .join(models::SMOLLM2_GGUF);
    let g = Gguf::open(&path)?;
    let (target, tok) = (Llama::from_gguf(&g)?, GgufTokenizer::from_gguf(&g)?);
    let small = target.first_layers(args.draft_layers);
    let open: Vec<Vec<u32>> = PROMPTS.iter().map(|p| tok.encode(p)).collect();
    let copy: Vec<Vec<u32>> = COPY_PROMPTS
        .iter()
        .map(|p| tok.encode(&smollm2_chat_prompt(p)))
        .collect();
    let mut txt = format!(
        "# speculative decoding, greedy, SmolLM2-135M f32, {} new tokens a prompt\n\
         # open: {} open-ended prompts; copy: {} requests to write out a corrected text\n\
         # load average (1, 5, 15 min) at start: {}\n",
        args.max_new,
        open.len(),
        copy.len(),
        load_average()
    );
    // What one target pass of k + 1 rows costs next to a plain decoding step of one row
    // (20 repetitions each after the first open prompt, the cache rolled back each time).
    let mut cache = target.new_cache();
    target.hidden_cached(&open[0], &mut cache);
    let len = cache.len();
    let next: Vec<u32> = target.greedy(&open[0], 9, None);
    let mut pass = |rows: usize| {
        let t = Instant::now();
        for _ in 0..20 {
            let h = target.hidden_cached(&next[..rows], &mut cache);
            std::hint::black_box(target.logits(&h));
            cache.truncate(len);
        }
        t.elapsed().as_secs_f64()
    };
    let one = pass(1);
    for k in 1..=8 {
        let cost = pass(k + 1) / one;
        writeln!(txt, "pass_cost k={k} rows={} relative={cost:.2}", k + 1)?;
    }
    let mut chart = LineChart::new(
        "Speculative decoding on SmolLM2-135M (greedy)",
        "draft length k",
        "speed-up (x) and acceptance rate",
    );
    chart.points = true;
    let small_name = format!("{}-layer", args.draft_layers);
    for (workload, prompts, drafts) in [
        ("open", &open, vec!["lookup", small_name.as_str()]),
        ("copy", &copy, vec!["lookup"]),
    ] {
        let t0 = Instant::now();
        let want: Vec<Vec<u32>> = prompts
            .iter()
            .map(|p| target.greedy(p, args.max_new, None))
            .collect();
        let base = t0.elapsed().as_secs_f64();
        writeln!(txt, "workload={workload} baseline_seconds={base:.3}")?;
        for name in drafts {
            let (mut speed, mut accept) = (vec![], vec![]);
            for k in 1..=8 {
                let (total, secs) =
                    run(&target, &small, name, prompts, &want, (k, &args))?;
                let rate = total.acceptance_rate();
                let per_pass = (prompts.len() * args.max_new) as f64 / total.steps as f64;
                writeln!(
                    txt,
                    "workload={workload} draft={name} k={k} acceptance={rate:.3} \
                     tokens_per_pass={per_pass:.2} seconds={secs:.3} speedup={:.2}",
                    base / secs
                )?;
                println!(
                    "{workload}, {name}, k={k}: acceptance {rate:.3}, speed-up {:.2}",
                    base / secs
                );
                speed.push((k as f64, base / secs));
                accept.push((k as f64, rate));
            }
            let label = format!("{workload}, {name}");
            chart
                .series
                .push(Series::new(format!("{label}: speed-up"), speed));
            chart
                .series
                .push(Series::new(format!("{label}: acceptance"), accept));
        }
    }
    writeln!(txt, "# load average at end: {}", load_average())?;
    let out = Path::new(&args.out);
    std::fs::write(out.join("speculative.txt"), &txt)?;
    write_line_chart(&out.join("speculative.svg"), &chart)?;
    print!("{txt}");
    Ok(())
}

/// Speculative greedy decoding of every prompt with the draft `name` and length k,
/// each output checked equal to plain greedy decoding: the summed statistics and time.
fn run(
    target: &Llama,
    small: &Llama,
    name: &str,
    prompts: &[Vec<u32>],
    want: &[Vec<u32>],
    (k, args): (usize, &Args),
) -> Result<(SpecStats, f64), Box<dyn std::error::Error>> {
    let (mut total, mut secs) = (SpecStats::default(), 0.0);
    for (p, want) in prompts.iter().zip(want) {
        let mut drafter = match name {
            "lookup" => Drafter::PromptLookup { n: 2 },
            _ => Drafter::model(small),
        };
        let t = Instant::now();
        let (got, s) = speculative_generate(
            target,
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
    Ok((total, secs))
}

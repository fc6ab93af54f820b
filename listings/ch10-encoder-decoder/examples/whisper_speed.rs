//! Whisper tiny.en's encoder and decoder, timed on the synthetic 30-s log-mel of the
//! parity test (x[c, t] = 0.6 sin(0.37 c + 0.011 t) - 0.2):
//!
//!   cargo run --release -p ch10-encoder-decoder --example whisper_speed -- --threads 2
//!
//! encode = the log-mel through the conv stem and the encoder; decode = greedy decoding
//! with Whisper's rules from <|startoftranscript|><|notimestamps|> to <|endoftext|>
//! (`tokens` ids, the cross-attention keys and values included); steps = --steps greedy
//! steps with <|endoftext|> suppressed too, so that every run does the same number of
//! one-token steps. Each part runs inside a rayon pool of --threads threads; the best of
//! --repeat runs is printed, after one warm-up run. One line of `key=value` fields.

use anyhow::Result;
use ch01_foundations::linalg::{best_of, in_pool};

/// The best of `repeat` timed runs after one warm-up, in milliseconds, and the result.
fn best_ms<R>(repeat: usize, f: impl FnMut() -> R) -> (f64, R) {
    let (s, out) = best_of(1, repeat, f);
    (s * 1e3, out)
}
use ch10_encoder_decoder::ctranslate2::Ct2Model;
use ch10_encoder_decoder::transcribe::{self, DecodingRules, EOT, NO_TIMESTAMPS, SOT};
use ch10_encoder_decoder::whisper::{Whisper, synthetic_log_mel};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Size of the rayon pool the model runs on.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed runs to take the best of (after one warm-up run).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// One-token decoding steps in the fixed-length run.
    #[arg(long, default_value_t = 64)]
    steps: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = models::WHISPER_TINY_EN.dir()?;
    let mut model = Whisper::from_ct2(&Ct2Model::open(&dir.join("model.bin"))?)?;
    let rules = DecodingRules::from_config(&dir.join("config.json"))?;
    let mel = synthetic_log_mel();
    let prompt = [SOT, NO_TIMESTAMPS];
    let mut fixed = rules.clone();
    fixed.suppress.push(EOT);
    fixed.max_length = 2 * args.steps; // the text may use max_length / 2 positions
    let line = in_pool(args.threads, || -> Result<String> {
        let (encode_ms, m) = best_ms(args.repeat, || model.encode(&mel));
        let m = m?;
        let (decode_ms, ids) = best_ms(args.repeat, || {
            transcribe::greedy(&mut model, &m, &prompt, &rules)
        });
        let (steps_ms, long) = best_ms(args.repeat, || {
            transcribe::greedy(&mut model, &m, &prompt, &fixed)
        });
        let long = long?;
        Ok(format!(
            "threads={} encode_ms={encode_ms:.1} decode_ms={decode_ms:.1} tokens={} \
             steps={} steps_ms={steps_ms:.1} ms_per_step={:.2}",
            args.threads,
            ids?.len(),
            long.len(),
            steps_ms / long.len() as f64,
        ))
    })?;
    println!("{line}");
    Ok(())
}

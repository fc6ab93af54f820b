//! The time to transcribe the four committed 16 kHz clips with the book's code, each clip
//! as its own 30-s window, for tools/golden/bench_ch10.py:
//!
//!   cargo run --release -p ch10-encoder-decoder --example transcribe_speed -- --threads 2
//!
//! transcribe = for every clip: the WAV read, the log-mel, the encoder, greedy decoding
//! and the text (the model loaded once, before timing); log_mel = the log-mel alone of
//! every clip's samples; encode = the encoder alone on every clip's window. Each is the best of --repeat passes after one warm-up pass,
//! inside a rayon pool of --threads threads. One line of `key=value` fields; `ids` lists
//! every clip's generated ids, clips separated by `|`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use ch01_foundations::linalg::{best_of, in_pool};

/// The best of `repeat` timed runs after one warm-up, in milliseconds, and the result.
fn best_ms<R>(repeat: usize, f: impl FnMut() -> R) -> (f64, R) {
    let (s, out) = best_of(1, repeat, f);
    (s * 1e3, out)
}
use ch10_encoder_decoder::audio::{SAMPLE_RATE, log_mel_spectrogram, read_wav};
use ch10_encoder_decoder::transcription::{
    Transcriber, Transcript, committed_clips, whisper_window,
};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Size of the rayon pool the model runs on.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed passes to take the best of (after one warm-up pass).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let audio = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audio");
    let files: Vec<PathBuf> = committed_clips(&audio)?
        .into_iter()
        .filter(|(f, _)| !f.contains("22050"))
        .map(|(f, _)| audio.join(f))
        .collect();
    let mut whisper = Transcriber::open(&models::WHISPER_TINY_EN.dir()?)?;
    let samples = files.iter().map(read_wav).collect::<Result<Vec<_>, _>>()?;
    let seconds: f64 = samples
        .iter()
        .map(|x| x.len() as f64 / f64::from(SAMPLE_RATE))
        .sum();
    let line = in_pool(args.threads, || -> Result<String> {
        let (mel_ms, _) = best_ms(args.repeat, || {
            samples
                .iter()
                .map(|x| log_mel_spectrogram(x))
                .collect::<Result<Vec<_>, _>>()
        });
        let windows = samples
            .iter()
            .map(|x| whisper_window(x))
            .collect::<Result<Vec<_>, _>>()?;
        let (encode_ms, _) = best_ms(args.repeat, || {
            windows
                .iter()
                .map(|w| whisper.model.encode(w))
                .collect::<Result<Vec<_>, _>>()
        });
        let (ms, out) = best_ms(args.repeat, || {
            files
                .iter()
                .map(|f| whisper.transcribe_file(f))
                .collect::<Result<Vec<Transcript>, _>>()
        });
        let ids: Vec<String> = out?
            .iter()
            .map(|t| {
                t.ids
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        Ok(format!(
            "threads={} clips={} audio_s={seconds:.3} transcribe_ms={ms:.1} rtf={:.4} \
             log_mel_ms={mel_ms:.2} encode_ms={encode_ms:.1} ids={}",
            args.threads,
            files.len(),
            ms / 1e3 / seconds,
            ids.join("|"),
        ))
    })?;
    println!("{line}");
    Ok(())
}

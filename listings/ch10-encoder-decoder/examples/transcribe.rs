//! Whisper tiny.en transcribes a WAV file with the book's code, greedy, English, no
//! timestamps (up to 30 s; any sample rate, mono or stereo):
//!
//!   cargo run --release -p ch10-encoder-decoder --example transcribe -- FILE.wav [--ids] [--model DIR]
//!
//! prints the transcript, or with `--ids` the generated token ids (not the prompt's)
//! space-separated on one line. The weights come from the models cache (`cargo xtask
//! models`) unless `--model` names a CTranslate2 Whisper directory.

use std::path::PathBuf;

use anyhow::Result;
use ch10_encoder_decoder::transcription::Transcriber;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Whisper tiny.en transcribes a WAV file (at most 30 s)")]
struct Args {
    /// The WAV file to transcribe.
    file: PathBuf,
    /// Print the generated token ids instead of the text.
    #[arg(long)]
    ids: bool,
    /// A CTranslate2 Whisper directory (model.bin, config.json, vocabulary.txt) instead
    /// of the models cache's tiny.en.
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = models::WHISPER_TINY_EN.dir_or(args.model)?;
    let mut whisper = Transcriber::open(&dir)?;
    let t = whisper.transcribe_file(&args.file)?;
    if args.ids {
        let ids: Vec<String> = t.ids.iter().map(u32::to_string).collect();
        println!("{}", ids.join(" "));
    } else {
        println!("{}", t.text.trim());
    }
    Ok(())
}

//! Whisper tiny.en transcribes every committed espeak-ng clip with the book's code; each
//! transcript is scored against the text espeak-ng spoke (word error rate after
//! `wer::normalise`). Needs the models cache. Its output is committed as
//! src/figures/ch10/transcripts.txt:
//!
//!   cargo run --release -p ch10-encoder-decoder --example transcripts
//!
//! tests/transcription.rs checks that the committed file equals a rerun.

use std::path::Path;

use anyhow::Result;
use ch10_encoder_decoder::transcription::{Transcriber, transcripts_report};

fn main() -> Result<()> {
    let dir = models::WHISPER_TINY_EN.dir()?;
    let audio = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audio");
    print!(
        "{}",
        transcripts_report(&mut Transcriber::open(&dir)?, &audio)?
    );
    Ok(())
}

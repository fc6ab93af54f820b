//! Transcribing a file (section "Transcribing speech"): a WAV file through the audio
//! front end, the encoder, and greedy decoding, to token ids and text. What the
//! `transcribe` example runs.

use std::fmt::Write as _;
use std::path::Path;

use ch02_input::bpe::Bpe;
use ndarray::{Array2, s};

use crate::audio::{AudioError, HOP_LENGTH, N_FRAMES, log_mel_spectrogram, read_wav};
use crate::ctranslate2::Ct2Model;
use crate::transcribe::{self, DecodingRules, NO_TIMESTAMPS, SOT};
use crate::wer::wer;
use crate::whisper::{Whisper, WhisperError};

/// Why a file could not be transcribed: the audio (named by its file) or the model.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Model(#[from] WhisperError),
    #[error("{path}: {problem}")]
    Clips { path: String, problem: String },
}

/// A transcript: the generated text tokens (no prompt, no `<|endoftext|>`) and their text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    pub ids: Vec<u32>,
    pub text: String,
}

// ANCHOR: window
/// The encoder's input as openai-whisper's `transcribe()` (and faster-whisper) builds it
/// for audio shorter than 30 s: the log-mel of the audio padded with silence, of which
/// only the first `len / 160` frames are kept, the rest set to 0. Zero is not the
/// padding's own log-mel (the floor, max − 8 scaled, about −0.7): the model was trained
/// on windows cut this way, and on one clip the two give different words.
// samples: [n] -> [80, 3000]
pub fn whisper_window(samples: &[f32]) -> Result<Array2<f32>, AudioError> {
    let mut mel = log_mel_spectrogram(samples)?;
    let content = (samples.len() / HOP_LENGTH).min(N_FRAMES);
    mel.slice_mut(s![.., content..]).fill(0.0);
    Ok(mel)
}
// ANCHOR_END: window

// ANCHOR: transcriber
/// Whisper with its decoding rules and tokenizer, loaded once from a CTranslate2
/// directory (`model.bin`, `config.json`, `vocabulary.txt`) and used for many files.
pub struct Transcriber {
    pub model: Whisper,
    pub rules: DecodingRules,
    pub bpe: Bpe,
}

impl Transcriber {
    pub fn open(dir: &Path) -> Result<Self, TranscribeError> {
        let bin = Ct2Model::open(&dir.join("model.bin")).map_err(WhisperError::from)?;
        Ok(Transcriber {
            model: Whisper::from_ct2(&bin)?,
            rules: DecodingRules::from_config(&dir.join("config.json"))?,
            bpe: transcribe::read_vocabulary(&dir.join("vocabulary.txt"))?,
        })
    }

    /// Greedy decoding of one window of up to 30 s of 16 kHz samples, English, text only.
    // samples: [n] -> ids: [<= 224]
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, TranscribeError> {
        let mel = whisper_window(samples)?;
        let m = self.model.encode(&mel)?; // [1500, 384]
        let prompt = [SOT, NO_TIMESTAMPS];
        let ids = transcribe::greedy(&mut self.model, &m, &prompt, &self.rules)?;
        let text = transcribe::text(&self.bpe, &ids)?;
        Ok(Transcript { ids, text })
    }

    /// A WAV file (any rate, mono or stereo, at most 30 s) to its transcript.
    pub fn transcribe_file(
        &mut self,
        path: &Path,
    ) -> Result<Transcript, TranscribeError> {
        let samples = read_wav(path)?;
        self.transcribe(&samples)
    }
}
// ANCHOR_END: transcriber

/// The committed clips listed in `audio/clips.json` (file, spoken text), the 16 kHz ones
/// first, then the one kept at its native rate.
pub fn committed_clips(audio: &Path) -> Result<Vec<(String, String)>, TranscribeError> {
    let path = audio.join("clips.json");
    let bad = |problem: String| TranscribeError::Clips {
        path: path.display().to_string(),
        problem,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let clips = doc["clips"]
        .as_array()
        .ok_or_else(|| bad("no `clips` array".into()))?;
    let mut out = Vec::new();
    for clip in clips.iter().chain([&doc["native"]]) {
        match (clip["file"].as_str(), clip["text"].as_str()) {
            (Some(file), Some(text)) => out.push((file.to_owned(), text.to_owned())),
            _ => return Err(bad(format!("a clip without `file` and `text`: {clip}"))),
        }
    }
    Ok(out)
}

/// Every committed clip transcribed and scored: what the `transcripts` example prints and
/// src/figures/ch10/transcripts.txt holds. The total leaves out the native-rate clip,
/// which speaks the first clip's sentence again.
pub fn transcripts_report(
    whisper: &mut Transcriber,
    audio: &Path,
) -> Result<String, TranscribeError> {
    let clips = committed_clips(audio)?;
    let mut out = String::new();
    let w = &mut out;
    writeln!(
        w,
        "Whisper tiny.en run by the book's code: greedy, English, no timestamps,"
    )
    .ok();
    writeln!(
        w,
        "on the espeak-ng clips of tests/audio. WER = word edits / spoken words,"
    )
    .ok();
    writeln!(w, "both texts normalised by wer::normalise.").ok();
    let (mut edits, mut words) = (0, 0);
    for (i, (file, spoken)) in clips.iter().enumerate() {
        let t = whisper.transcribe_file(&audio.join(file))?;
        let (e, n) = wer(spoken, &t.text);
        let native = i + 1 == clips.len();
        if !native {
            (edits, words) = (edits + e, words + n);
        }
        writeln!(w).ok();
        writeln!(
            w,
            "{file}{}",
            if native {
                " (22,050 Hz, resampled by the book)"
            } else {
                ""
            }
        )
        .ok();
        writeln!(w, "  spoken      {spoken}").ok();
        writeln!(w, "  transcript  {}", t.text.trim()).ok();
        writeln!(
            w,
            "  WER         {e} / {n} = {:.1}%",
            100.0 * e as f64 / n as f64
        )
        .ok();
    }
    writeln!(w).ok();
    let pct = 100.0 * edits as f64 / words as f64;
    writeln!(
        w,
        "total (the {} 16 kHz clips)  {edits} / {words} = {pct:.1}%",
        clips.len() - 1
    )
    .ok();
    Ok(out)
}

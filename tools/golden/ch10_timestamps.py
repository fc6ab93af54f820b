"""Chapter 10 fixture for exercise 5 (timestamps): CTranslate2's greedy decoding of the
real Whisper tiny.en WITH timestamps, on the chapter's espeak-ng clips.

The features are openai-whisper's log-mel of each clip (`log_mel_spectrogram(int16 / 32768,
80, padding=N_SAMPLES)[:, :3000]`, what the book's own log-mel matches within 1e-4), fed
to `ctranslate2.models.Whisper.generate` (CPU, float32, 1 thread, beam 1) from the
prompt <|startoftranscript|> alone: without <|notimestamps|>, CTranslate2 applies its
timestamp rules (ApplyTimestampRules, max_initial_timestamp_index 50) on top of the
config's suppress rules. Per clip: the generated ids (timestamps included), the text by
tokenizer.json, and the smallest top-1/top-2 logit margin over the steps, so that a test
failing at a near-tie can say so.

Writes listings/ch10-encoder-decoder/tests/golden/ch10_timestamps.json.
"""
import json

import ctranslate2
import numpy as np
import tokenizers
import whisper
from whisper.audio import N_SAMPLES  # noqa: F401 (also via whisper)

from ch10_log_mel import load
from ch10_whisper import cache_dir
from common import ROOT

CLIPS = ROOT / "listings/ch10-encoder-decoder/tests/audio"
OUT = ROOT / "listings/ch10-encoder-decoder/tests/golden/ch10_timestamps.json"
SOT = 50257


def main() -> None:
    model_dir = cache_dir() / "whisper-tiny.en-ct2"
    model = ctranslate2.models.Whisper(
        str(model_dir), device="cpu", compute_type="float32", intra_threads=1
    )
    tok = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    clips = json.loads((CLIPS / "clips.json").read_text())["clips"]
    cases = {}
    for clip in clips:
        if clip["sample_rate"] != 16000:
            continue
        audio = load(CLIPS / clip["file"])  # int16 / 32768, as ch10_log_mel.py reads it
        mel = whisper.log_mel_spectrogram(audio, 80, padding=N_SAMPLES)[:, :3000]
        features = ctranslate2.StorageView.from_array(mel.numpy()[None].astype(np.float32))
        r = model.generate(features, [[SOT]], beam_size=1, return_logits_vocab=True)[0]
        ids = r.sequences_ids[0]
        margins = []
        for step in r.logits[0]:
            top = np.sort(np.array(step, dtype=np.float32))[-2:]
            margins.append(float(top[1] - top[0]))
        cases[clip["file"]] = {
            "ids": ids,
            "text": tok.decode([i for i in ids if i < 50257]),
            "min_margin": min(margins) if margins else None,
        }
        print(clip["file"], ids, cases[clip["file"]]["text"])
    OUT.write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()

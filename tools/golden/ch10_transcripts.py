"""Chapter 10 fixture: faster-whisper 1.2.1 transcribing the committed 16 kHz clips with
the real Whisper tiny.en from the models cache (the same CTranslate2 model.bin the book
reads), greedy, without timestamps.

faster-whisper is run as a user would run it:

    WhisperModel(dir, device="cpu", compute_type="float32")
    model.transcribe(audio, language="en", beam_size=1, temperature=0,
                     without_timestamps=True, vad_filter=False,
                     condition_on_previous_text=False)

on the samples openai-whisper's load_audio would give (int16 / 32768; the script checks
that faster-whisper's own decode_audio gives the same samples from the file). It records
the token ids of the (single) segment and its text.

faster-whisper computes its own log-mel (numpy, the audio padded by 160 samples; its first
len // 160 frames, then zeros to 3000 frames), which is not bit-for-bit openai-whisper's
(torch.stft of the audio padded with 30 s of silence; transcribe() also keeps the first
len // 160 frames and pads with zeros). So the script also records:

- `fw_features`: CTranslate2's greedy ids on faster-whisper's features, rebuilt here the
  way transcribe() builds them (they must equal faster-whisper's ids), with the smallest
  top-1/top-2 logit margin over the steps;
- `book_features`: CTranslate2's greedy ids on openai-whisper's window as its
  transcribe() builds it, the features the book computes (its log-mel equals
  openai-whisper's; tests/log_mel_golden.rs), with the same suppress rules as the book
  (the config's suppress_ids and suppress_ids_begin);
- `floor_padded`: the same on the first 3000 frames of the padded log-mel without the
  zeros (what whisper.decode on log_mel_spectrogram(pad_or_trim(audio)) sees);
- the largest difference between the two feature arrays over the frames holding audio,
  and over the padding.

    .venv/bin/python ch10_transcripts.py
      -> listings/ch10-encoder-decoder/tests/golden/ch10_transcripts.json
"""
import json
import pathlib

import ctranslate2
import faster_whisper
import numpy as np
import torch
from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio, pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens
from whisper.audio import N_FRAMES, N_SAMPLES, log_mel_spectrogram

from ch10_log_mel import AUDIO, load
from ch10_whisper import cache_dir
from common import write

OUT = "listings/ch10-encoder-decoder/tests/golden/ch10_transcripts.json"
PROMPT = [50257, 50362]  # <|startoftranscript|> <|notimestamps|>


def greedy(model, features: np.ndarray, suppress: list[int]) -> tuple[list[int], float]:
    """CTranslate2's greedy ids for one [80, 3000] window and the smallest top-1/top-2
    margin of the logits it chose from (after suppression, which sets logits to -inf)."""
    result = model.generate(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
        [PROMPT],
        beam_size=1,
        max_length=448,
        suppress_blank=True,
        suppress_tokens=suppress,
        return_logits_vocab=True,
    )[0]
    margin = float("inf")
    for logits in result.logits[0]:
        row = np.sort(np.array(logits, dtype=np.float32).reshape(-1))[::-1]
        margin = min(margin, float(row[0] - row[1]))
    return [int(i) for i in result.sequences_ids[0]], margin


def main() -> None:
    torch.set_num_threads(1)
    model_dir = cache_dir() / "whisper-tiny.en-ct2"
    fw = WhisperModel(str(model_dir), device="cpu", compute_type="float32", cpu_threads=1)
    ct2 = fw.model  # the ctranslate2.models.Whisper faster-whisper drives
    tokenizer = Tokenizer(fw.hf_tokenizer, multilingual=False, task="transcribe",
                          language="en")
    fw_suppress = list(get_suppressed_tokens(tokenizer, [-1]))
    config = json.loads((model_dir / "config.json").read_text())
    clips = json.loads((AUDIO / "clips.json").read_text())["clips"]
    listed = []
    for clip in clips:
        audio = load(AUDIO / clip["file"])
        decoded = decode_audio(str(AUDIO / clip["file"]), sampling_rate=16000)
        assert np.array_equal(decoded, audio), "PyAV gives other samples than int16/32768"
        segments, _ = fw.transcribe(
            audio, language="en", beam_size=1, temperature=0, without_timestamps=True,
            vad_filter=False, condition_on_previous_text=False)
        segments = list(segments)
        assert len(segments) == 1, f"{clip['file']}: {len(segments)} segments"
        ids, text = [int(i) for i in segments[0].tokens], segments[0].text

        # faster-whisper's window, rebuilt as transcribe() builds it.
        feats = fw.feature_extractor(audio)
        content = feats.shape[-1] - 1
        fw_window = pad_or_trim(feats[:, :min(N_FRAMES, content)]).astype(np.float32)
        fw_ids, fw_margin = greedy(ct2, fw_window, fw_suppress)
        assert fw_ids == ids, (clip["file"], fw_ids, ids)

        # The book's window, as openai-whisper's transcribe() builds it: the log-mel of
        # the audio padded with 30 s of silence, its first len // 160 frames, then zeros.
        full = log_mel_spectrogram(torch.from_numpy(audio), 80, padding=N_SAMPLES)
        frames = full.shape[-1] - N_FRAMES
        assert frames == content, (frames, content)
        mel = full[:, :N_FRAMES].numpy().astype(np.float32)
        window = mel.copy()
        window[:, frames:] = 0.0
        book_ids, book_margin = greedy(ct2, window, [-1])
        # The low-level path whisper.decode(model, log_mel_spectrogram(pad_or_trim(audio)))
        # keeps the padding's own log-mel (the floor) instead of zeros.
        floor_ids, _ = greedy(ct2, mel, [-1])
        diff = np.abs(window - fw_window)
        name = pathlib.Path(clip["file"]).stem
        case = {
            "name": name,
            "file": clip["file"],
            "spoken": clip["text"],
            "ids": ids,
            "text": text,
            "fw_min_margin": fw_margin,
            "book_features_ids": book_ids,
            "book_features_text": fw.hf_tokenizer.decode(book_ids),
            "book_features_min_margin": book_margin,
            "floor_padded_ids": floor_ids,
            "floor_padded_text": fw.hf_tokenizer.decode(floor_ids),
            "content_frames": int(content),
            "feature_diff_content": float(diff[:, :content].max()),
            "feature_diff_padding": float(diff[:, content:].max()),
            "floor_minus_zero_padding": float(np.abs(mel - window).max()),
        }
        listed.append(case)
        same = "same" if book_ids == ids else "DIFFERENT"
        print(f"{clip['file']}: {text!r} ({len(ids)} ids; book's features: {same}; "
              f"margins {fw_margin:.3f} / {book_margin:.3f}; feature diff "
              f"{case['feature_diff_content']:.2e} on audio, "
              f"{case['feature_diff_padding']:.2f} on padding; floor-padded: "
              f"{'same' if floor_ids == ids else repr(case['floor_padded_text'])})")
    cases = {"clips": listed, "meta": {
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "prompt": PROMPT,
        "suppress_fw_minus_config": sorted(set(fw_suppress) - set(config["suppress_ids"])),
        "suppress_config_minus_fw": sorted(set(config["suppress_ids"]) - set(fw_suppress)),
    }}
    write(OUT, cases)


if __name__ == "__main__":
    main()

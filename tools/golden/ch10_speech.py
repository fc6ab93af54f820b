"""Chapter 10's speech: a few short English sentences spoken by espeak-ng, as WAV clips.

Writes listings/ch10-encoder-decoder/tests/audio/*.wav (16 kHz mono 16-bit PCM, what
Whisper reads) and clips.json (each clip's file and spoken text). espeak-ng speaks at its
native 22,050 Hz; the clips are resampled to 16 kHz with scipy.signal.resample_poly (a
polyphase FIR, band-limited: 16000/22050 = 320/441). One clip is also kept at 22,050 Hz
so that the book's own resampler (rubato) has a real input to convert and a reference to
match.

    apt-get install -y espeak-ng   # Debian/Ubuntu; the script says so if it is missing
    .venv/bin/python ch10_speech.py

espeak-ng is a formant synthesizer with no randomness: the same version writes the same
samples, and clips.json records the version that made the committed clips.
"""
import io
import json
import pathlib
import shutil
import subprocess
import sys
import wave

import numpy as np
from scipy.signal import resample_poly

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "listings/ch10-encoder-decoder/tests/audio"
VOICE, SPEED = "en-us", 175  # words a minute

# Varied on purpose: plain words, numbers said as digits, a question, a longer sentence.
CLIPS = [
    ("fox.wav", "The quick brown fox jumps over the lazy dog."),
    ("numbers.wav", "It costs 42 dollars and 17 cents."),
    ("question.wav", "What time does the train leave tomorrow?"),
    ("long.wav", "Whisper turns thirty seconds of sound into eighty mel bands before the encoder reads them."),
]
NATIVE = ("fox-22050.wav", CLIPS[0][1])  # the same sentence at espeak-ng's own rate


def speak(text: str) -> tuple[np.ndarray, int]:
    """espeak-ng's WAV on stdout -> int16 samples and their rate."""
    wav = subprocess.run(
        ["espeak-ng", "-v", VOICE, "-s", str(SPEED), "--stdout", text],
        check=True, capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, "espeak-ng writes mono 16-bit"
        rate = w.getframerate()
        # espeak-ng streams to stdout with an unknown length in the header: read every frame.
        samples = np.frombuffer(w.readframes(1 << 30), dtype="<i2")
    return samples, rate


def write_wav(path: pathlib.Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    assert rate == 22050, f"espeak-ng spoke at {rate} Hz, expected 22050"
    y = resample_poly(samples.astype(np.float64), 320, 441)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def main() -> None:
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed: `apt-get install -y espeak-ng` (Debian/Ubuntu)")
    version = subprocess.run(["espeak-ng", "--version"], check=True, capture_output=True, text=True)
    OUT.mkdir(parents=True, exist_ok=True)
    listed = []
    for file, text in CLIPS:
        samples, rate = speak(text)
        y = to_16k(samples, rate)
        write_wav(OUT / file, y, 16000)
        listed.append({"file": file, "text": text, "sample_rate": 16000, "samples": len(y)})
        print(f"wrote {file}: {len(y) / 16000:.2f} s")
    samples, rate = speak(NATIVE[1])
    write_wav(OUT / NATIVE[0], samples, rate)
    print(f"wrote {NATIVE[0]}: {len(samples) / rate:.2f} s at {rate} Hz")
    doc = {
        "generator": "tools/golden/ch10_speech.py",
        "espeak_ng": version.stdout.strip(),
        "voice": VOICE,
        "words_per_minute": SPEED,
        "resampler": "scipy.signal.resample_poly(x, 320, 441), rounded to int16",
        "clips": listed,
        "native": {"file": NATIVE[0], "text": NATIVE[1], "sample_rate": rate,
                   "samples": len(samples), "resampled_as": CLIPS[0][0]},
    }
    (OUT / "clips.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print("wrote clips.json")


if __name__ == "__main__":
    main()

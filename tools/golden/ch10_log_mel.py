"""openai-whisper's log-mel spectrogram of Chapter 10's speech clips (the encoder's input).

Reads each 16 kHz clip listed in listings/ch10-encoder-decoder/tests/audio/clips.json as
openai-whisper's load_audio would hand it over (int16 / 32768, float32; load_audio itself
needs ffmpeg, which only does the same conversion for these files), and computes what
whisper.transcribe feeds the model: log_mel_spectrogram(audio, padding=N_SAMPLES), its
first N_FRAMES = 3000 frames.

To keep the fixture small it stores only the frames whose 400-sample window touches the
audio; every later frame sees nothing but padding, and the script asserts that all of
them hold the one value recorded as `padded_value`, so a test can still compare all 3000.

One synthetic case, `edge`, is a full 30 s whose loudest moment is its last 7.5 ms: the
maximum that sets the floor then lies in a frame past the 3000 the model reads. It stores
the first and last 10 frames and the minimum and maximum of all 3000.

    .venv/bin/python ch10_log_mel.py
      -> listings/ch10-encoder-decoder/tests/golden/ch10_log_mel_<clip>.npz (float32 [80, frames])
         listings/ch10-encoder-decoder/tests/golden/ch10_log_mel.json (frames, padded value)
"""
import json
import pathlib
import wave

import numpy as np
import torch
import whisper
from whisper.audio import HOP_LENGTH, N_FFT, N_FRAMES, N_SAMPLES, log_mel_spectrogram

ROOT = pathlib.Path(__file__).resolve().parents[2]
AUDIO = ROOT / "listings/ch10-encoder-decoder/tests/audio"
OUT = ROOT / "listings/ch10-encoder-decoder/tests/golden"


def load(path: pathlib.Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000), path
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0  # whisper.audio.load_audio's conversion


def main() -> None:
    torch.set_num_threads(1)
    clips = json.loads((AUDIO / "clips.json").read_text())["clips"]
    arrays, listed = {}, []
    for clip in clips:
        audio = load(AUDIO / clip["file"])
        mel = log_mel_spectrogram(torch.from_numpy(audio), 80, padding=N_SAMPLES)[:, :N_FRAMES]
        mel = mel.numpy().astype(np.float32)
        assert mel.shape == (80, N_FRAMES), mel.shape
        # Frame t's window covers samples [t*hop - n_fft/2, t*hop + n_fft/2).
        frames = -(-(len(audio) + N_FFT // 2) // HOP_LENGTH)
        tail = mel[:, frames:]
        padded = float(tail[0, 0])
        assert np.all(tail == padded), "frames past the audio should all sit at the floor"
        name = pathlib.Path(clip["file"]).stem
        arrays[name] = mel[:, :frames]
        listed.append({"file": clip["file"], "name": name, "samples": len(audio),
                       "audio_frames": frames, "padded_value": padded,
                       "max": float(mel.max()), "min": float(mel.min())})
        print(f"{clip['file']}: {frames} audio frames, padded value {padded:.6f}")
    # A full 30 s whose loudest moment is its last 7.5 ms: openai-whisper's maximum then
    # lies in a frame past 3000, which the model never reads but which sets the floor.
    t = np.arange(N_SAMPLES) / 16000.0
    full = (0.01 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    full[-120:] += (0.9 * np.sin(2 * np.pi * 3000.0 * t[-120:])).astype(np.float32)
    whole = log_mel_spectrogram(torch.from_numpy(full), 80, padding=N_SAMPLES)
    assert int(whole.max(dim=0).values.argmax()) >= N_FRAMES, "the maximum should lie past frame 3000"
    edge = whole[:, :N_FRAMES].numpy().astype(np.float32)
    edge_case = {"seconds": 30, "tone_hz": 440.0, "tone_amplitude": 0.01, "burst_hz": 3000.0,
                 "burst_amplitude": 0.9, "burst_samples": 120,
                 "min": float(edge.min()), "max": float(edge.max()),
                 "first_frames": 10, "last_frames": 10}
    arrays["edge_first"] = edge[:, :10]
    arrays["edge_last"] = edge[:, -10:]
    OUT.mkdir(parents=True, exist_ok=True)
    for name, mel in arrays.items():  # one file a clip keeps each fixture small
        if not name.startswith("edge_"):
            np.savez_compressed(OUT / f"ch10_log_mel_{name}.npz", log_mel=mel)
    np.savez_compressed(OUT / "ch10_log_mel_edge.npz", first=arrays["edge_first"], last=arrays["edge_last"])
    doc = {
        "generator": "tools/golden/ch10_log_mel.py",
        "openai_whisper": whisper.__version__,
        "torch": torch.__version__.split("+")[0],
        "call": "log_mel_spectrogram(int16 / 32768, 80, padding=N_SAMPLES)[:, :3000]",
        "clips": listed,
        "edge": edge_case,
    }
    (OUT / "ch10_log_mel.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print("wrote tests/golden/ch10_log_mel_*.npz and ch10_log_mel.json")


if __name__ == "__main__":
    main()

"""Chapter 10's speed: Whisper tiny.en transcribing the four committed 16 kHz clips
(tests/audio, each clip its own 30-s window, greedy, English, no timestamps), by the
book's Rust beside what a reader would use instead:

    .venv/bin/python bench_ch10.py     # needs cargo and `cargo xtask models`
      -> src/figures/ch10/whisper-speed.txt

- ours: `cargo run --release -p ch10-encoder-decoder --example transcribe_speed`;
- faster-whisper 1.2.1 (CTranslate2 4.8.5) on the same model.bin, compute_type float32
  and int8 (weights quantized to 8 bits at load), `transcribe()` with the golden
  fixture's options (tools/golden/ch10_transcripts.py);
- openai-whisper 20250625 (PyTorch 2.15 eager, fp32): it ships no weights here, so the
  script builds `whisper.model.Whisper(ModelDimensions(...))` and loads tiny.en's
  weights from the same CTranslate2 model.bin (fp16 -> fp32; the fused Q,K,V and the
  cross-attention's K,V split back), then `whisper.transcribe(...)` greedy without
  timestamps.

Every side times the same thing: for each clip, the WAV read (int16 / 32768), the
log-mel, the encoder and greedy decoding to text, the model loaded before timing; the
real-time factor is that time over the clips' total duration (lower is faster). The
log-mel alone is timed too: ours against openai-whisper's `log_mel_spectrogram`. Each
side runs in its own process (`bench_ch10.py side NAME THREADS`), takes the best of
REPEAT passes after a warm-up pass, and the sides alternate for ROUNDS rounds, keeping
their best, so that a burst of other load lands on no side alone. Each side's token ids
are compared with ours.
"""
import json
import os
import pathlib
import struct
import subprocess
import sys
import time
import wave

import numpy as np

from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
AUDIO = ROOT / "listings/ch10-encoder-decoder/tests/audio"
OUT = ROOT / "src/figures/ch10/whisper-speed.txt"
THREADS = (1, 2)
REPEAT, ROUNDS = 3, 2
SIDES = ("ours", "fw-fp32", "fw-int8", "openai")


def clip_files() -> list[pathlib.Path]:
    clips = json.loads((AUDIO / "clips.json").read_text())["clips"]
    return [AUDIO / c["file"] for c in clips]


def load(path: pathlib.Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def best_ms(repeat: int, f):
    out = f()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = f()
        best = min(best, (time.perf_counter() - start) * 1e3)
    return best, out


def model_dir() -> pathlib.Path:
    from ch10_whisper import cache_dir
    return cache_dir() / "whisper-tiny.en-ct2"


# ---------------------------------------------------------------------------------------
# openai-whisper with the weights of the CTranslate2 model.bin


def read_ct2(path: pathlib.Path) -> dict[str, np.ndarray]:
    """CTranslate2's model.bin (binary version 6): the header, the variables, the aliases."""
    b = path.read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        v = struct.unpack_from(fmt, b, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def string() -> str:
        nonlocal pos
        n = take("<H")
        s = b[pos:pos + n - 1].decode()
        pos += n
        return s

    assert take("<I") == 6
    string(), take("<I")  # spec name, revision
    dtypes = [np.float32, np.int8, np.int16, np.int32, np.float16]
    out = {}
    for _ in range(take("<I")):
        name = string()
        shape = [take("<I") for _ in range(take("<B"))]
        dtype = dtypes[take("<B")]
        n_bytes = take("<I")
        out[name] = np.frombuffer(b, dtype=dtype, count=n_bytes // np.dtype(dtype).itemsize,
                                  offset=pos).reshape(shape)
        pos += n_bytes
    for _ in range(take("<I")):
        alias = string()
        out[alias] = out[string()]
    assert pos == len(b)
    return out


def openai_model():
    import torch
    from whisper.model import ModelDimensions, Whisper

    v = read_ct2(model_dir() / "model.bin")
    c = 384
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=c, n_audio_head=6,
                           n_audio_layer=4, n_vocab=51864, n_text_ctx=448,
                           n_text_state=c, n_text_head=6, n_text_layer=4)
    sd = {}

    def put(name: str, a: np.ndarray):
        sd[name] = torch.from_numpy(np.array(a, dtype=np.float32))

    def norm(ours: str, theirs: str):
        put(f"{theirs}.weight", v[f"{ours}/layer_norm/gamma"])
        put(f"{theirs}.bias", v[f"{ours}/layer_norm/beta"])

    def linear(ours: str, theirs: str, rows=slice(None), bias=True):
        put(f"{theirs}.weight", v[f"{ours}/weight"][rows])
        if bias:
            put(f"{theirs}.bias", v[f"{ours}/bias"][rows])

    for side in ("encoder", "decoder"):
        for i in range(4):
            ct, pt = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            norm(f"{ct}/self_attention", f"{pt}.attn_ln")
            qkv = f"{ct}/self_attention/linear_0"
            linear(qkv, f"{pt}.attn.query", slice(0, c))
            linear(qkv, f"{pt}.attn.key", slice(c, 2 * c), bias=False)
            linear(qkv, f"{pt}.attn.value", slice(2 * c, 3 * c))
            linear(f"{ct}/self_attention/linear_1", f"{pt}.attn.out")
            norm(f"{ct}/ffn", f"{pt}.mlp_ln")
            linear(f"{ct}/ffn/linear_0", f"{pt}.mlp.0")
            linear(f"{ct}/ffn/linear_1", f"{pt}.mlp.2")
            if side == "decoder":
                norm(f"{ct}/attention", f"{pt}.cross_attn_ln")
                linear(f"{ct}/attention/linear_0", f"{pt}.cross_attn.query")
                kv = f"{ct}/attention/linear_1"
                linear(kv, f"{pt}.cross_attn.key", slice(0, c), bias=False)
                linear(kv, f"{pt}.cross_attn.value", slice(c, 2 * c))
                linear(f"{ct}/attention/linear_2", f"{pt}.cross_attn.out")
    for i in (1, 2):
        linear(f"encoder/conv{i}", f"encoder.conv{i}")
    put("encoder.positional_embedding", v["encoder/position_encodings/encodings"])
    norm("encoder", "encoder.ln_post")
    put("decoder.token_embedding.weight", v["decoder/embeddings/weight"])
    put("decoder.positional_embedding", v["decoder/position_encodings/encodings"])
    norm("decoder", "decoder.ln")
    model = Whisper(dims)
    model.load_state_dict(sd, strict=True)
    return model.eval()


# ---------------------------------------------------------------------------------------
# One side, in its own process


def side(name: str, threads: int) -> dict:
    files = clip_files()
    seconds = sum(len(load(f)) / 16000 for f in files)
    if name == "ours":
        out = subprocess.run(
            ["cargo", "run", "--quiet", "--release", "-p", "ch10-encoder-decoder",
             "--example", "transcribe_speed", "--", "--threads", str(threads),
             "--repeat", str(REPEAT)],
            cwd=ROOT, check=True, capture_output=True, text=True).stdout
        kv = dict(f.split("=", 1) for f in out.split())
        return {"ms": float(kv["transcribe_ms"]), "log_mel_ms": float(kv["log_mel_ms"]),
                "encode_ms": float(kv["encode_ms"]),
                "seconds": float(kv["audio_s"]),
                "ids": [[int(i) for i in c.split(",") if i] for c in kv["ids"].split("|")]}
    if name.startswith("fw-"):
        from faster_whisper import WhisperModel
        from faster_whisper.audio import pad_or_trim
        compute = {"fw-fp32": "float32", "fw-int8": "int8"}[name]
        model = WhisperModel(str(model_dir()), device="cpu", compute_type=compute,
                             cpu_threads=threads)

        def run():
            ids = []
            for f in files:
                segments, _ = model.transcribe(
                    load(f), language="en", beam_size=1, temperature=0,
                    without_timestamps=True, vad_filter=False,
                    condition_on_previous_text=False)
                ids.append([t for s in segments for t in s.tokens])
            return ids

        import ctranslate2
        feats = [model.feature_extractor(load(f)) for f in files]
        windows = [ctranslate2.StorageView.from_array(
            np.ascontiguousarray(pad_or_trim(x[:, :x.shape[-1] - 1])[None])) for x in feats]
        encode_ms, _ = best_ms(REPEAT, lambda: [
            model.model.encode(w, to_cpu=True) for w in windows])
        ms, ids = best_ms(REPEAT, run)
        return {"ms": ms, "encode_ms": encode_ms, "seconds": seconds, "ids": ids}
    if name == "openai":
        import torch
        import whisper
        from whisper.audio import N_SAMPLES, log_mel_spectrogram
        torch.set_num_threads(threads)
        model = openai_model()

        def run():
            ids = []
            for f in files:
                r = whisper.transcribe(
                    model, load(f), language="en", temperature=0.0, fp16=False,
                    without_timestamps=True, condition_on_previous_text=False,
                    no_speech_threshold=None, verbose=None)
                ids.append([t for s in r["segments"] for t in s["tokens"]])
            return ids

        audio = [torch.from_numpy(load(f)) for f in files]
        with torch.inference_mode():
            mel_ms, _ = best_ms(REPEAT, lambda: [
                log_mel_spectrogram(a, 80, padding=N_SAMPLES) for a in audio])
            windows = []
            for a in audio:
                mel = log_mel_spectrogram(a, 80, padding=N_SAMPLES)
                frames = mel.shape[-1] - 3000
                windows.append(whisper.pad_or_trim(mel[:, :frames], 3000)[None])
            encode_ms, _ = best_ms(REPEAT, lambda: [model.embed_audio(w) for w in windows])
        ms, ids = best_ms(REPEAT, run)
        return {"ms": ms, "log_mel_ms": mel_ms, "encode_ms": encode_ms, "seconds": seconds,
                "ids": ids}
    raise SystemExit(f"unknown side {name}")


def in_process(name: str, threads: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "side", name, str(threads)],
                         cwd=HERE, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------


def main() -> None:
    import ctranslate2
    import faster_whisper
    import torch
    import whisper

    best: dict[tuple[str, int], dict] = {}
    for r in range(ROUNDS):
        for threads in THREADS:
            for name in SIDES:
                res = in_process(name, threads)
                print(f"round {r + 1}: {name} at {threads} thread(s): "
                      f"{res['ms']:.1f} ms", flush=True)
                key = (name, threads)
                if key not in best:
                    best[key] = res
                else:
                    for k in ("ms", "log_mel_ms", "encode_ms"):
                        if k in res:
                            best[key][k] = min(best[key][k], res[k])
    seconds = best[("ours", 1)]["seconds"]
    labels = {"ours": "ours", "fw-fp32": "faster-whisper fp32",
              "fw-int8": "faster-whisper int8", "openai": "openai-whisper"}
    lines = [
        f"Whisper tiny.en transcribing the {len(clip_files())} committed 16 kHz clips "
        f"({seconds:.2f} s of speech), each its own 30-s window, greedy, no timestamps;",
        "time = WAV read + log-mel + encoder + greedy decoding to text, the model loaded "
        f"before timing (encoder = the encoder alone on the four windows); best of {ROUNDS} alternating rounds x {REPEAT} passes after a "
        "warm-up, each side in its own process",
        f"ours = this chapter's Rust (f32); faster-whisper {faster_whisper.__version__} on "
        f"CTranslate2 {ctranslate2.__version__}, the same model.bin (float32, and int8 "
        "quantized at load); openai-whisper "
        f"{whisper.__version__} on PyTorch {torch.__version__.split('+')[0]} (fp32), "
        "weights from the same model.bin",
        f"{cpu_model()}, {os.cpu_count()} CPUs available, load average "
        f"{os.getloadavg()[0]:.1f} at the end",
        "",
        "threads | side                | time ms | real-time factor | encoder ms | same ids as ours",
        "------- | ------------------- | ------- | ---------------- | ---------- | ----------------",
    ]
    ours_ids = best[("ours", 1)]["ids"]
    for threads in THREADS:
        assert best[("ours", threads)]["ids"] == ours_ids, "ours differs across threads"
        for name in SIDES:
            b = best[(name, threads)]
            same = sum(a == o for a, o in zip(b["ids"], ours_ids))
            lines.append(f"{threads:>7} | {labels[name]:<19} | {b['ms']:>7.1f} | "
                         f"{b['ms'] / 1e3 / seconds:>16.4f} | {b['encode_ms']:>10.1f} | "
                         f"{same:>11} of {len(ours_ids)}")
    lines += ["", "speed-up = their time / ours (> 1: ours faster)",
              "threads | faster-whisper fp32 | faster-whisper int8 | openai-whisper",
              "------- | ------------------- | ------------------- | --------------"]
    for threads in THREADS:
        o = best[("ours", threads)]["ms"]
        r = [best[(n, threads)]["ms"] / o for n in SIDES[1:]]
        lines.append(f"{threads:>7} | {r[0]:>19.2f} | {r[1]:>19.2f} | {r[2]:>14.2f}")
    lines += ["", "log-mel alone of the same clips (30-s padded, 80 x 3000 kept): "
              "ours against openai-whisper's log_mel_spectrogram (torch.stft)",
              "threads | ours ms | openai-whisper ms | speed-up",
              "------- | ------- | ----------------- | --------"]
    for threads in THREADS:
        o, t = best[("ours", threads)]["log_mel_ms"], best[("openai", threads)]["log_mel_ms"]
        lines.append(f"{threads:>7} | {o:>7.2f} | {t:>17.2f} | {t / o:>8.2f}")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "side":
        print(json.dumps(side(sys.argv[2], int(sys.argv[3]))))
    else:
        main()

"""Helpers shared by the fixture writers: tensors as {"shape": [...], "data": [...]}."""
import json
import pathlib
import platform

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]


def number(v: float):
    """JSON has no inf or NaN: write them as the strings "inf", "-inf", "nan"."""
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return v


def tensor(t: torch.Tensor) -> dict:
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [number(float(v)) for v in t.flatten().tolist()]}


def rounded(t: torch.Tensor, digits: int = 9) -> dict:
    """A float tensor at `digits` significant digits (9 give back the exact f32)."""
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(f"{v:.{digits}g}") for v in t.flatten().tolist()]}


def ints(t: torch.Tensor) -> dict:
    return {"shape": list(t.shape), "data": t.flatten().tolist()}


def write(relpath: str, cases: dict, compact: bool = False) -> None:
    """compact: no indentation, for fixtures that are mostly long float arrays."""
    path = ROOT / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "generator": "tools/golden/" + pathlib.Path(__import__("sys").argv[0]).name,
        "torch": torch.__version__.split("+")[0],
        "cases": cases,
    }
    text = (
        json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        if compact
        else json.dumps(doc, indent=1, allow_nan=False)
    )
    path.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def cpu_model() -> str:
    """The CPU's name for a benchmark's header."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()

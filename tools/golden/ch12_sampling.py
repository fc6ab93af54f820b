"""Chapter 12 fixture for the sampler: Hugging Face transformers' logits processors
(RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper, TopKLogitsWarper,
TopPLogitsWarper, MinPLogitsWarper, in the order `generate` builds them) applied to fixed
logits with a token history, and the softmax of the result: the distribution the draw
samples from. Writes listings/ch12-inference/tests/golden/sampling.json, and
typical.json with TypicalLogitsWarper for the exercise.
"""
import torch
from transformers.generation.logits_process import (
    LogitsProcessorList,
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from common import rounded, write

torch.manual_seed(12)
V = 32
LOGITS = (torch.randn(V) * 2.0).to(torch.float32)
HISTORY = torch.tensor([3, 7, 7, 1, 20, 3, 3], dtype=torch.long)

CONFIGS = {
    "temperature_0.7": dict(temperature=0.7),
    "top_k_5": dict(top_k=5),
    "top_p_0.8": dict(top_p=0.8),
    "min_p_0.1": dict(min_p=0.1),
    "repetition_1.3": dict(repetition_penalty=1.3),
    "all": dict(repetition_penalty=1.2, temperature=0.8, top_k=12, top_p=0.9, min_p=0.05),
}


def chain(c):
    procs = LogitsProcessorList()
    if c.get("repetition_penalty", 1.0) != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(c["repetition_penalty"]))
    if c.get("temperature", 1.0) != 1.0:
        procs.append(TemperatureLogitsWarper(c["temperature"]))
    if c.get("top_k", 0):
        procs.append(TopKLogitsWarper(c["top_k"]))
    if c.get("top_p", 1.0) < 1.0:
        procs.append(TopPLogitsWarper(c["top_p"]))
    if c.get("min_p", 0.0):
        procs.append(MinPLogitsWarper(c["min_p"]))
    return procs


cases = {}
for name, c in CONFIGS.items():
    scores = chain(c)(HISTORY[None, :], LOGITS[None, :].clone())
    probs = torch.softmax(scores.double(), dim=-1).float()[0]
    cases[name] = {
        "config": c,
        "logits": rounded(LOGITS),
        "history": HISTORY.tolist(),
        "probs": rounded(probs),
    }
write("listings/ch12-inference/tests/golden/sampling.json", cases)

# The exercise: typical sampling on the same logits, two masses.
typical = {}
for mass in (0.5, 0.9):
    scores = TypicalLogitsWarper(mass=mass)(HISTORY[None, :], LOGITS[None, :].clone())
    typical[f"typical_{mass}"] = {
        "mass": mass,
        "logits": rounded(LOGITS),
        "probs": rounded(torch.softmax(scores.double(), dim=-1).float()[0]),
    }
write("listings/ch12-inference/tests/golden/typical.json", typical)

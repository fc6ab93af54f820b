"""Chapter 10 fixture: Whisper's conv stem, GELU(conv2(GELU(conv1(mel)))), by PyTorch's
torch.nn.functional.conv1d (kernel 3, padding 1; conv2 stride 2) and exact GELU, as in
openai-whisper's AudioEncoder. Forward output and, for L = sum(y * r), the gradients of
the input and of every weight and bias.

Writes listings/ch10-encoder-decoder/tests/golden/conv.json. Tensors are in PyTorch's
layouts: mel [n_mels, T], weights [C_out, C_in, K]; y [C, T_out] (the book's stem
returns it time-major, [T_out, C]).
"""
import torch
import torch.nn.functional as F

from common import rounded, write


def case(n_mels: int, c: int, t: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    # Drawn in float32 (the values the book reads back exactly), computed in float64.
    def draw(*shape, scale=1.0):
        x = torch.randn(*shape, generator=g) * scale
        return x.to(torch.float64).requires_grad_()

    mel = draw(n_mels, t)
    w1, b1 = draw(c, n_mels, 3, scale=0.4), draw(c, scale=0.1)
    w2, b2 = draw(c, c, 3, scale=0.4), draw(c, scale=0.1)
    h = F.gelu(F.conv1d(mel[None], w1, b1, padding=1))
    y = F.gelu(F.conv1d(h, w2, b2, stride=2, padding=1))[0]
    r = torch.randn(y.shape, generator=g).to(torch.float64)
    (y * r).sum().backward()
    out = {}
    for name, v in [("mel", mel), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("y", y), ("r", r)]:
        out[name] = rounded(v)
    for name, v in [("mel", mel), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)]:
        out["d" + name] = rounded(v.grad)
    return out


def main() -> None:
    cases = {"odd": case(5, 4, 9, 0), "even": case(6, 8, 12, 1), "short": case(3, 2, 2, 2)}
    write("listings/ch10-encoder-decoder/tests/golden/conv.json", cases)


if __name__ == "__main__":
    main()

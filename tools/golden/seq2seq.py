"""The book's encoder-decoder assembled from PyTorch layers, shared by the Chapter 7
fixtures (ch07_transformer.py) and the training-step benchmark (bench_ch07.py).

nn.Transformer itself would not do: it always ends both stacks with a LayerNorm, which the
book's Post-LN stacks do not have.
"""
import math

import torch
import torch.nn as nn


def causal(t):
    return torch.ones(t, t, dtype=torch.bool).triu(1)  # True = not allowed


def sinusoidal(max_len, c):
    """The 2017 encoding, interleaved sin/cos, computed in float64 like the book."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    omega = 10000.0 ** (-torch.arange(0, c, 2, dtype=torch.float64) / c)
    pe = torch.zeros(max_len, c, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * omega)
    pe[:, 1::2] = torch.cos(pos * omega)
    return pe.to(torch.float32)


class Seq2Seq(nn.Module):
    """The book's Transformer, from PyTorch layers."""

    def __init__(self, src_vocab, tgt_vocab, c, h, d_ff, n_enc, n_dec, norm_first, tied,
                 max_len=32):
        super().__init__()
        kw = dict(dropout=0.0, activation="relu", batch_first=True, norm_first=norm_first)
        self.src_embed = nn.Embedding(src_vocab, c)
        self.tgt_embed = nn.Embedding(tgt_vocab, c)
        self.enc = nn.ModuleList(nn.TransformerEncoderLayer(c, h, d_ff, **kw) for _ in range(n_enc))
        self.dec = nn.ModuleList(nn.TransformerDecoderLayer(c, h, d_ff, **kw) for _ in range(n_dec))
        # Pre-LN stacks end with a LayerNorm (the residual stream is never normalised
        # otherwise); Post-LN stacks already end in one.
        self.enc_norm = nn.LayerNorm(c) if norm_first else None
        self.dec_norm = nn.LayerNorm(c) if norm_first else None
        self.out = None if tied else nn.Linear(c, tgt_vocab)
        self.c = c
        with torch.no_grad():
            for e in (self.src_embed, self.tgt_embed):
                e.weight.normal_(0, c ** -0.5)
        self.register_buffer("pe", sinusoidal(max_len, c))

    def embed(self, table, ids):
        return table(ids) * math.sqrt(self.c) + self.pe[: ids.shape[1]]

    def forward(self, src, tgt_in, pad):
        src_pad, tgt_pad = src == pad, tgt_in == pad
        m = self.embed(self.src_embed, src)
        for layer in self.enc:
            m = layer(m, src_key_padding_mask=src_pad)
        if self.enc_norm is not None:
            m = self.enc_norm(m)
        y = self.embed(self.tgt_embed, tgt_in)
        for layer in self.dec:
            y = layer(y, m, tgt_mask=causal(tgt_in.shape[1]), tgt_key_padding_mask=tgt_pad,
                      memory_key_padding_mask=src_pad)
        if self.dec_norm is not None:
            y = self.dec_norm(y)
        return self.out(y) if self.out is not None else y @ self.tgt_embed.weight.T

"""Chapter 7 fixtures: one nn.TransformerDecoderLayer (Post-LN and Pre-LN, causal target
mask, target and memory key padding) with the gradients of its input, its memory and
every parameter; and a whole encoder-decoder built from nn.TransformerEncoderLayer /
nn.TransformerDecoderLayer stacks, with embeddings × √C + sinusoidal positions, an output
projection tied to the target embedding (Post-LN case) or untied (Pre-LN case), and
CrossEntropyLoss(ignore_index=pad, label_smoothing=0.1) on a padded batch: logits, loss
and parameter gradients. All float32 on CPU, dropout 0.

    .venv/bin/python ch07_transformer.py
    # writes listings/ch07-transformer/tests/golden/decoder_layer.json and model.json

nn.Transformer always ends both stacks with a LayerNorm; the book's Post-LN stacks have
none and its Pre-LN stacks have one, so the reference here stacks the layers by hand.

Parameters are stored under the book's dotted names and in the book's layout, so the Rust
test can load them by name through `Module::visit_params_mut`:
    self_attn.w_qkv [C, 3C] = in_proj_weight.T      self_attn.b_qkv = in_proj_bias
    cross_attn.w_q  [C, C]  = in_proj_weight[:C].T  cross_attn.b_q  = in_proj_bias[:C]
    cross_attn.w_kv [C, 2C] = in_proj_weight[C:].T  cross_attn.b_kv = in_proj_bias[C:]
    *.w_o = out_proj.weight.T, ffn.fc1.w = linear1.weight.T, Linear w = weight.T,
    norm.gamma / norm.beta = LayerNorm weight / bias, *_embed.table = Embedding weight.
Field "p.<name>" holds a value, "g.<name>" its gradient. Parameter values are rounded to
multiples of 1/128, exact in float32, which keeps the file small. "n_params" counts
the parameter tensors and "n_grads" the gradients stored.
"""
import torch
import torch.nn as nn

from common import tensor, write
from seq2seq import Seq2Seq, causal

torch.manual_seed(7)
cases = {}


def t9(t):
    """A tensor with 9 significant digits: exact for float32, half the characters."""
    d = tensor(t)
    d["data"] = [float(f"{v:.9g}") if isinstance(v, float) else v for v in d["data"]]
    return d


def randomize(module):
    """Non-trivial values for every parameter (PyTorch starts biases at 0 and LayerNorm at
    1/0, which would leave their gradients untested), rounded to multiples of 1/128."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
            elif "norm" in name:
                p.normal_(1, 0.1)
            p.copy_(torch.round(p * 128) / 128)


def attn_params(mha, self_attn, v):
    w, b = v(mha.in_proj_weight), v(mha.in_proj_bias)
    c = w.shape[1]
    out = {"w_o": v(mha.out_proj.weight).T, "b_o": v(mha.out_proj.bias)}
    if self_attn:
        out.update({"w_qkv": w.T, "b_qkv": b})
    else:
        out.update({"w_q": w[:c].T, "b_q": b[:c], "w_kv": w[c:].T, "b_kv": b[c:]})
    return out


def ln_params(ln, v):
    return {"gamma": v(ln.weight), "beta": v(ln.bias)}


def ffn_params(layer, v):
    return {
        "fc1.w": v(layer.linear1.weight).T, "fc1.b": v(layer.linear1.bias),
        "fc2.w": v(layer.linear2.weight).T, "fc2.b": v(layer.linear2.bias),
    }


def prefixed(prefix, d):
    return {f"{prefix}.{k}": v for k, v in d.items()}


def decoder_layer_params(layer, v):
    """The book's DecoderLayer names for one nn.TransformerDecoderLayer."""
    out = {}
    out.update(prefixed("self_attn", attn_params(layer.self_attn, True, v)))
    out.update(prefixed("norm1", ln_params(layer.norm1, v)))
    out.update(prefixed("cross_attn", attn_params(layer.multihead_attn, False, v)))
    out.update(prefixed("norm2", ln_params(layer.norm2, v)))
    out.update(prefixed("ffn", ffn_params(layer, v)))
    out.update(prefixed("norm3", ln_params(layer.norm3, v)))
    return out


def encoder_layer_params(layer, v):
    """The book's EncoderBlock names for one nn.TransformerEncoderLayer."""
    out = {}
    out.update(prefixed("attn", attn_params(layer.self_attn, True, v)))
    out.update(prefixed("norm1", ln_params(layer.norm1, v)))
    out.update(prefixed("ffn", ffn_params(layer, v)))
    out.update(prefixed("norm2", ln_params(layer.norm2, v)))
    return out


def store(case, params_fn, module, only=None):
    """Values under "p.<name>", gradients (all, or those in `only`) under "g.<name>", both
    in the book's layout: the layout maps (transposes, slices) apply to gradients too.
    Returns (number of parameters, number of gradients stored)."""
    values = params_fn(module, lambda p: p)
    grads = params_fn(module, lambda p: p.grad)
    kept = [n for n in grads if only is None or n in only]
    for name, value in values.items():
        case["p." + name] = t9(value)
    for name in kept:
        case["g." + name] = t9(grads[name])
    return len(values), len(kept)


def padding(lens, t):
    return torch.arange(t)[None, :] >= torch.tensor(lens)[:, None]  # True = padding


# --- (a) one decoder layer --------------------------------------------------------------
def decoder_layer_case(norm_first):
    b, t, s, c, h, d_ff = 2, 5, 6, 8, 2, 16
    layer = nn.TransformerDecoderLayer(
        c, h, d_ff, dropout=0.0, activation="relu", batch_first=True, norm_first=norm_first
    )
    randomize(layer)
    x = torch.randn(b, t, c, requires_grad=True)
    m = torch.randn(b, s, c, requires_grad=True)
    tgt_lens, src_lens = [5, 3], [6, 4]
    y = layer(
        x, m, tgt_mask=causal(t), tgt_key_padding_mask=padding(tgt_lens, t),
        memory_key_padding_mask=padding(src_lens, s),
    )
    g = torch.randn_like(y)
    y.backward(g)
    case = {
        "heads": h, "d_ff": d_ff, "tgt_lens": tgt_lens, "src_lens": src_lens,
        "x": t9(x), "m": t9(m), "upstream": t9(g), "out": t9(y),
        "dx": t9(x.grad), "dm": t9(m.grad),
    }
    case["n_params"], case["n_grads"] = store(case, decoder_layer_params, layer)
    return case


cases["dec_post"] = decoder_layer_case(norm_first=False)
cases["dec_pre"] = decoder_layer_case(norm_first=True)
write("listings/ch07-transformer/tests/golden/decoder_layer.json", cases)
cases = {}


# --- (b) the whole encoder-decoder ------------------------------------------------------
def model_params(model, v):
    out = {"src_embed.table": v(model.src_embed.weight), "tgt_embed.table": v(model.tgt_embed.weight)}
    for i, layer in enumerate(model.enc):
        out.update(prefixed(f"encoder.blocks.{i}", encoder_layer_params(layer, v)))
    if model.enc_norm is not None:
        out.update(prefixed("encoder.final_norm", ln_params(model.enc_norm, v)))
    for i, layer in enumerate(model.dec):
        out.update(prefixed(f"decoder.layers.{i}", decoder_layer_params(layer, v)))
    if model.dec_norm is not None:
        out.update(prefixed("decoder.final_norm", ln_params(model.dec_norm, v)))
    if model.out is not None:
        out.update({"out.w": v(model.out.weight).T, "out.b": v(model.out.bias)})
    return out


PAD, BOS, EOS = 0, 1, 2


def model_case(norm_first, tied):
    src_vocab, tgt_vocab, c, h, d_ff, n_enc, n_dec = 11, 13, 8, 2, 16, 2, 2
    model = Seq2Seq(src_vocab, tgt_vocab, c, h, d_ff, n_enc, n_dec, norm_first, tied)
    randomize(model)
    model.train()  # no inference fast path; dropout is 0 anyway
    # Three sentence pairs of different lengths, padded: source ends in eos, the target
    # is eos-terminated, and the decoder input is the target shifted right behind bos.
    src_lens, tgt_lens = [7, 4, 5], [6, 3, 5]  # with eos
    b, s, t = 3, max(src_lens), max(tgt_lens)
    src = torch.full((b, s), PAD)
    tgt = torch.full((b, t), PAD)
    for i in range(b):
        src[i, : src_lens[i] - 1] = torch.randint(3, src_vocab, (src_lens[i] - 1,))
        src[i, src_lens[i] - 1] = EOS
        tgt[i, : tgt_lens[i] - 1] = torch.randint(3, tgt_vocab, (tgt_lens[i] - 1,))
        tgt[i, tgt_lens[i] - 1] = EOS
    tgt_in = torch.cat([torch.full((b, 1), BOS), tgt[:, :-1]], dim=1)
    logits = model(src, tgt_in, PAD)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
    loss = loss_fn(logits.reshape(-1, tgt_vocab), tgt.reshape(-1))
    loss.backward()
    case = {
        "src_vocab": src_vocab, "tgt_vocab": tgt_vocab, "max_len": 32, "d_model": c,
        "heads": h, "d_ff": d_ff, "n_enc": n_enc, "n_dec": n_dec, "pad": PAD, "bos": BOS,
        "label_smoothing": 0.1,
        "src": src.flatten().tolist(), "src_shape": [b, s],
        "tgt": tgt.flatten().tolist(), "tgt_in": tgt_in.flatten().tolist(), "tgt_shape": [b, t],
        "logits": t9(logits), "loss": float(loss.detach()),
    }
    # A few gradients, from both ends of the model: the embeddings (the target one also
    # carries the tied projection's gradient), the first encoder block's attention (it
    # learns only through cross-attention), the last decoder layer's cross-attention,
    # and the output projection or the final norms.
    few = {
        "src_embed.table", "tgt_embed.table", "encoder.blocks.0.attn.w_qkv",
        "encoder.blocks.0.norm1.gamma", "decoder.layers.0.self_attn.w_qkv",
        f"decoder.layers.{n_dec - 1}.cross_attn.w_kv", "decoder.layers.1.ffn.fc1.w",
        "out.w", "out.b", "encoder.final_norm.gamma", "decoder.final_norm.beta",
    }
    case["n_params"], case["n_grads"] = store(case, model_params, model, only=few)
    return case


cases["model_post_tied"] = model_case(norm_first=False, tied=True)
cases["model_pre_untied"] = model_case(norm_first=True, tied=False)

write("listings/ch07-transformer/tests/golden/model.json", cases)

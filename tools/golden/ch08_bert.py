"""Chapter 8 whole-model check: transformers' BertForPreTraining (small config, dropout 0,
eval mode, eager attention) on a padded batch of two sentence pairs. Records every
parameter by its Hugging Face name, both heads' logits, two seeded random tensors R1, R2
and, after backward of L = sum(prediction_logits * R1) + sum(seq_relationship_logits * R2),
the gradient of every parameter (the tied word embedding / MLM decoder once, with the sum
of both uses). Floats to 9 significant digits (exact for f32), written compactly.

Run: tools/golden/.venv/bin/python tools/golden/ch08_bert.py
"""
import torch
from transformers import BertConfig, BertForPreTraining

from common import ints, rounded, write


def main() -> None:
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        type_vocab_size=2,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        attn_implementation="eager",
        # nn.Embedding(padding_idx=pad_token_id) drops the lookup's gradient for that
        # row; the book's Embedding does not, so the pad id is one the batch never uses
        # (the padding itself is id 0 and is masked by attention_mask).
        pad_token_id=1,
    )
    model = BertForPreTraining(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:  # Linear weights and tables: std 0.2, larger than BERT's 0.02
                p.copy_(0.2 * torch.randn_like(p))
    # [CLS]=2 A [SEP]=3 B [SEP], the second pair padded (id 0) after position 6.
    ids = torch.tensor([[2, 11, 17, 5, 3, 23, 8, 31, 3, 12], [2, 9, 14, 3, 27, 6, 3, 0, 0, 0]])
    segments = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]])
    mask = (ids != 0).long()
    mask[0] = 1
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[0, 6], labels[1, 5] = 17, 8, 6
    out = model(
        input_ids=ids,
        token_type_ids=segments,
        attention_mask=mask,
        labels=labels,
        next_sentence_label=torch.tensor([0, 1]),
    )
    r1 = torch.randn_like(out.prediction_logits)
    r2 = torch.randn_like(out.seq_relationship_logits)
    model.zero_grad()
    scalar = (out.prediction_logits * r1).sum() + (out.seq_relationship_logits * r2).sum()
    scalar.backward()
    case = {
        "ids": ints(ids),
        "segments": ints(segments),
        "attention_mask": ints(mask),
        "prediction_logits": rounded(out.prediction_logits),
        "seq_relationship_logits": rounded(out.seq_relationship_logits),
        "labels": ints(labels),
        "next_sentence_label": [0, 1],
        "loss": float(out.loss.detach()),
        "r1": rounded(r1),
        "r2": rounded(r2),
    }
    names = []
    for name, p in model.named_parameters():  # tied tensors are listed once
        names.append(name)
        case["param." + name] = rounded(p)
        case["grad." + name] = rounded(p.grad)
    case["names"] = names
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    write("listings/ch08-encoder-only/tests/golden/bert.json", {"pretraining": case}, compact=True)


if __name__ == "__main__":
    main()

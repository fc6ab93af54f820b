//! Loading checks: the name mapping puts each Hugging Face tensor where it belongs, and
//! every way a checkpoint or config can be wrong is an error naming the tensor or field
//! (messages pinned by snapshots). Small models written into a tempdir: no cache needed.

mod common;

use std::path::Path;

use ch08_encoder_only::SentenceEncoder;
use common::{Tensors, write_tiny_model};
use ndarray::{Array2, s};
use safetensors::tensor::Dtype;

/// The load error for a tiny model with `edit` applied, with the tempdir written as DIR.
fn load_error(edit: impl FnOnce(&mut serde_json::Value, &mut Tensors)) -> String {
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_model(tmp.path(), edit);
    let err = match SentenceEncoder::load(tmp.path()) {
        Ok(_) => panic!("the corrupted model loaded"),
        Err(e) => e.to_string(),
    };
    err.replace(&tmp.path().display().to_string(), "DIR")
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn each_tensor_lands_in_its_module_transposed_where_the_layouts_differ() {
    let tmp = tempfile::tempdir().unwrap();
    let mut saved = Tensors::new();
    write_tiny_model(tmp.path(), |_, t| saved = t.clone());
    let enc = SentenceEncoder::load(tmp.path()).unwrap();
    let hf = |name: &str| floats(&saved[name].2);
    let hf2 = |name: &str| {
        let shape = &saved[name].1;
        Array2::from_shape_vec((shape[0], shape[1]), hf(name)).unwrap()
    };
    let b = &enc.bert;
    assert_eq!(
        b.embeddings.token.table.value,
        hf2("embeddings.word_embeddings.weight")
    );
    assert_eq!(b.embeddings.norm.eps, 1e-12);
    let block = &b.encoder.blocks[1];
    let c = 16;
    for (j, part) in ["query", "key", "value"].iter().enumerate() {
        let w = hf2(&format!("encoder.layer.1.attention.self.{part}.weight"));
        assert_eq!(
            block.attn.w_qkv.value.slice(s![.., j * c..(j + 1) * c]),
            w.t(),
            "{part}"
        );
        let bias = hf(&format!("encoder.layer.1.attention.self.{part}.bias"));
        assert_eq!(
            block
                .attn
                .b_qkv
                .value
                .slice(s![j * c..(j + 1) * c])
                .to_vec(),
            bias
        );
    }
    assert_eq!(
        block.ffn.fc1.w.value,
        hf2("encoder.layer.1.intermediate.dense.weight").t()
    );
    assert_eq!(
        block.ffn.fc2.w.value,
        hf2("encoder.layer.1.output.dense.weight").t()
    );
    assert_eq!(
        block.norm2.gamma.value.to_vec(),
        hf("encoder.layer.1.output.LayerNorm.weight")
    );
    assert_eq!((block.norm1.eps, block.norm2.eps), (1e-12, 1e-12));
    assert_eq!(block.ffn.act, ch04_ffn_norms::activations::Activation::Gelu);
    assert_eq!(enc.sentence.max_seq_length, 8);
}

#[test]
fn tensor_errors_name_the_tensor() {
    let missing = load_error(|_, t| {
        t.remove("encoder.layer.1.output.dense.bias");
    });
    let extra = load_error(|_, t| {
        let bias = t["pooler.dense.bias"].clone();
        t.insert("cls.predictions.bias".into(), bias);
    });
    let shape = load_error(|_, t| {
        let w = t
            .get_mut("encoder.layer.0.attention.self.query.weight")
            .unwrap();
        w.1 = vec![8, 32];
    });
    let dtype = load_error(|_, t| {
        let w = t.get_mut("embeddings.LayerNorm.weight").unwrap();
        (w.0, w.1) = (Dtype::F16, vec![32]);
    });
    let config_shape = load_error(|c, _| c["intermediate_size"] = 64.into());
    insta::assert_snapshot!(
        "tensor-errors",
        [missing, extra, shape, dtype, config_shape].join("\n")
    );
}

#[test]
fn config_errors_name_the_field() {
    let errors = [
        load_error(|c, _| {
            c.as_object_mut().unwrap().remove("hidden_size");
        }),
        load_error(|c, _| c["hidden_act"] = "swish".into()),
        load_error(|c, _| c["num_attention_heads"] = 5.into()),
        load_error(|c, _| c["layer_norm_eps"] = "tiny".into()),
        load_error(|c, _| c["position_embedding_type"] = "relative_key".into()),
        load_error(|c, _| c["vocab_size"] = 10.into()),
    ];
    insta::assert_snapshot!("config-errors", errors.join("\n"));
}

#[test]
fn file_errors_name_the_file() {
    let write = |name: &str, text: &str| {
        let tmp = tempfile::tempdir().unwrap();
        write_tiny_model(tmp.path(), |_, _| {});
        std::fs::write(tmp.path().join(name), text).unwrap();
        let err = SentenceEncoder::load(tmp.path())
            .err()
            .expect("an error")
            .to_string();
        err.replace(&tmp.path().display().to_string(), "DIR")
    };
    let errors = [
        write("config.json", "{ not json"),
        write(
            "1_Pooling/config.json",
            r#"{"word_embedding_dimension": 16, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}"#,
        ),
        write("sentence_bert_config.json", r#"{"max_seq_length": 512}"#),
        write("modules.json", "[]"),
        write("model.safetensors", "truncated"),
        {
            let tmp = tempfile::tempdir().unwrap();
            let err = SentenceEncoder::load(&tmp.path().join("nowhere"))
                .err()
                .unwrap()
                .to_string();
            err.replace(&tmp.path().display().to_string(), "DIR")
        },
    ];
    insta::assert_snapshot!("file-errors", errors.join("\n"));
}

#[test]
fn a_tiny_model_embeds_to_unit_vectors_and_batching_does_not_change_them() {
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_model(tmp.path(), |_, _| {});
    let mut enc = SentenceEncoder::load(Path::new(tmp.path())).unwrap();
    let texts = [
        "hello world",
        "",
        "the cat sat on the mat, the cat sat on the mat!",
    ];
    let batched = enc.embed(&texts);
    assert_eq!(batched.dim(), (3, 16));
    for (i, text) in texts.iter().enumerate() {
        let alone = enc.embed(&[text]);
        let err = (&alone.row(0) - &batched.row(i))
            .mapv(f32::abs)
            .fold(0.0f32, |m, &v| m.max(v));
        assert!(err < 1e-6, "{text:?}: padding changed the vector by {err}");
        assert!((batched.row(i).dot(&batched.row(i)) - 1.0).abs() < 1e-5);
    }
    // max_seq_length is 8 in the tiny model: [CLS] + 6 pieces + [SEP].
    let long = enc.tokenize(texts[2]);
    assert_eq!((long.ids.len(), long.full_len), (8, 16));
    assert_eq!(long.ids[7], enc.tokenizer.vocab.special().sep);
}

//! Whisper (Radford et al., 2022) built from the book's parts and loaded from
//! CTranslate2's `model.bin` (section "Whisper tiny.en"). The encoder is the conv stem,
//! sinusoidal positions and Chapter 5's Pre-LN blocks with a GELU FFN; the decoder is
//! Chapter 7's Pre-LN decoder stack (masked self-attention, cross-attention, GELU FFN)
//! over token embeddings plus learned positions, and the output layer is the token
//! embedding itself (Chapter 2's weight tying). Inference only: the weights are read,
//! not trained, though every part keeps its backward pass.

use std::collections::BTreeMap;

use ch01_foundations::init::seeded_rng;
use ch02_input::embedding::Embedding;
use ch03_attention::cross::CrossAttention;
use ch03_attention::mha::MultiHeadAttention;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::ffn::Ffn;
use ch04_ffn_norms::norms::LayerNorm;
use ch05_encoder::block::Wiring;
use ch05_encoder::stack::EncoderStack;
use ch07_transformer::{DecoderStack, Padding};
use ndarray::{Array1, Array2, Axis, Ix1, Ix2, Ix3, s};

use crate::conv::{Conv1d, ConvStem};
use crate::ctranslate2::{Ct2Error, Ct2Model, Dtype};

/// What can be wrong with a Whisper checkpoint or its input.
#[derive(Debug, thiserror::Error)]
pub enum WhisperError {
    #[error(transparent)]
    Ct2(#[from] Ct2Error),
    #[error("{what}: {problem}")]
    Config { what: String, problem: String },
    #[error("input: {0}")]
    Input(String),
}

fn config_error(what: &str, problem: String) -> WhisperError {
    WhisperError::Config {
        what: what.to_owned(),
        problem,
    }
}

// ANCHOR: config
/// The hyperparameters, read from the shapes in the file (CTranslate2 stores no
/// separate list of them). tiny.en: 80 mels, width 384, 6 heads, FFN 1536, 4 + 4
/// layers, 51,864 tokens, 1500 audio and 448 text positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WhisperConfig {
    pub n_mels: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub n_enc_layers: usize,
    pub n_dec_layers: usize,
    pub vocab: usize,
    pub n_audio_ctx: usize, // encoder positions: 2·n_audio_ctx mel frames in
    pub n_text_ctx: usize,  // decoder positions
}
// ANCHOR_END: config

/// A float variable's shape, or an error naming it.
fn shape_of(m: &Ct2Model, name: &str) -> Result<Vec<usize>, WhisperError> {
    Ok(m.get(name)?.shape.clone())
}

/// How many `{side}/layer_{i}/` prefixes the file has, counting from 0 without gaps.
fn count_layers(m: &Ct2Model, side: &str) -> usize {
    (0..)
        .take_while(|i| {
            let prefix = format!("{side}/layer_{i}/");
            m.variables.iter().any(|v| v.name.starts_with(&prefix))
        })
        .count()
}

impl WhisperConfig {
    /// Reads the sizes from the file, then checks that every variable the model needs
    /// is there with the shape they imply, that there is none it would ignore, and
    /// that the converter's flags describe the architecture built here.
    pub fn from_ct2(m: &Ct2Model) -> Result<Self, WhisperError> {
        if m.spec != "WhisperSpec" {
            return Err(config_error(
                "spec",
                format!("{:?}, expected \"WhisperSpec\"", m.spec),
            ));
        }
        let conv1 = shape_of(m, "encoder/conv1/weight")?;
        let [d_model, n_mels, 3] = conv1[..] else {
            return Err(config_error(
                "encoder/conv1/weight",
                format!("shape {conv1:?}, expected [C, n_mels, 3]"),
            ));
        };
        let dim0 = |name: &str| -> Result<usize, WhisperError> {
            shape_of(m, name)?
                .first()
                .copied()
                .ok_or_else(|| config_error(name, "a scalar, expected a matrix".into()))
        };
        let heads = |name: &str| -> Result<usize, WhisperError> {
            let h = m.int_scalar(name)?;
            usize::try_from(h)
                .ok()
                .filter(|&h| h > 0 && d_model % h == 0)
                .ok_or_else(|| {
                    config_error(
                        name,
                        format!("{h} heads do not divide the width {d_model}"),
                    )
                })
        };
        let n_heads = heads("encoder/num_heads")?;
        if heads("decoder/num_heads")? != n_heads {
            return Err(config_error(
                "decoder/num_heads",
                "differs from encoder/num_heads".into(),
            ));
        }
        let cfg = WhisperConfig {
            n_mels,
            d_model,
            n_heads,
            d_ff: dim0("encoder/layer_0/ffn/linear_0/weight")?,
            n_enc_layers: count_layers(m, "encoder"),
            n_dec_layers: count_layers(m, "decoder"),
            vocab: dim0("decoder/embeddings/weight")?,
            n_audio_ctx: dim0("encoder/position_encodings/encodings")?,
            n_text_ctx: dim0("decoder/position_encodings/encodings")?,
        };
        if cfg.n_enc_layers == 0
            || cfg.n_dec_layers == 0
            || cfg.n_mels == 0
            || cfg.vocab == 0
            || cfg.n_audio_ctx == 0
            || cfg.n_text_ctx == 0
        {
            return Err(config_error(
                "sizes",
                format!("{cfg:?}: every size must be at least 1"),
            ));
        }
        cfg.check(m)?;
        Ok(cfg)
    }
}

// ANCHOR: expected (long: the whole table of names and shapes in one place)
impl WhisperConfig {
    /// Every float variable the model reads, with its shape ([out, in] for a linear
    /// weight). Self-attention's Q, K, V are one [3C, C] `linear_0`; cross-attention's
    /// query is `linear_0` and its K, V one [2C, C] `linear_1`.
    pub fn expected_variables(&self) -> BTreeMap<String, Vec<usize>> {
        let (c, f) = (self.d_model, self.d_ff);
        let mut out = BTreeMap::new();
        let mut add = |name: String, shape: &[usize]| out.insert(name, shape.to_vec());
        let linear =
            |add: &mut dyn FnMut(String, &[usize]) -> _, p: &str, o: usize, i: usize| {
                add(format!("{p}/weight"), &[o, i]);
                add(format!("{p}/bias"), &[o]);
            };
        let norm = |add: &mut dyn FnMut(String, &[usize]) -> _, p: &str| {
            add(format!("{p}/layer_norm/gamma"), &[c]);
            add(format!("{p}/layer_norm/beta"), &[c]);
        };
        add("encoder/conv1/weight".into(), &[c, self.n_mels, 3]);
        add("encoder/conv1/bias".into(), &[c]);
        add("encoder/conv2/weight".into(), &[c, c, 3]);
        add("encoder/conv2/bias".into(), &[c]);
        add(
            "encoder/position_encodings/encodings".into(),
            &[self.n_audio_ctx, c],
        );
        add(
            "decoder/position_encodings/encodings".into(),
            &[self.n_text_ctx, c],
        );
        add("decoder/embeddings/weight".into(), &[self.vocab, c]);
        for side in ["encoder", "decoder"] {
            norm(&mut add, side);
            let n = if side == "encoder" {
                self.n_enc_layers
            } else {
                self.n_dec_layers
            };
            for i in 0..n {
                let l = format!("{side}/layer_{i}");
                norm(&mut add, &format!("{l}/self_attention"));
                linear(&mut add, &format!("{l}/self_attention/linear_0"), 3 * c, c);
                linear(&mut add, &format!("{l}/self_attention/linear_1"), c, c);
                norm(&mut add, &format!("{l}/ffn"));
                linear(&mut add, &format!("{l}/ffn/linear_0"), f, c);
                linear(&mut add, &format!("{l}/ffn/linear_1"), c, f);
                if side == "decoder" {
                    norm(&mut add, &format!("{l}/attention"));
                    linear(&mut add, &format!("{l}/attention/linear_0"), c, c);
                    linear(&mut add, &format!("{l}/attention/linear_1"), 2 * c, c);
                    linear(&mut add, &format!("{l}/attention/linear_2"), c, c);
                }
            }
        }
        out
    }
}
// ANCHOR_END: expected

/// The converter's integer flags and the value the model built here assumes.
const FLAGS: [(&str, i64); 5] = [
    ("decoder/pre_norm", 1),                  // Pre-LN blocks
    ("decoder/activation", 3),                // CTranslate2's ActivationType::GELU (erf)
    ("decoder/scale_embeddings", 0),          // no √C on the token embedding
    ("decoder/alibi", 0),                     // no ALiBi bias
    ("decoder/start_from_zero_embedding", 0), // position 0 is a learned row
];

/// Scalars the file carries that decoding does not use: word-level timestamps read
/// cross-attention weights of these heads.
const IGNORED: [&str; 2] = ["decoder/alignment_heads", "decoder/alignment_layer"];

impl WhisperConfig {
    fn check(&self, m: &Ct2Model) -> Result<(), WhisperError> {
        let expected = self.expected_variables();
        for (name, shape) in &expected {
            let var = m.get(name)?;
            if !matches!(var.dtype, Dtype::F32 | Dtype::F16 | Dtype::Bf16) {
                return Err(config_error(
                    name,
                    format!("{:?}, expected a float type", var.dtype),
                ));
            }
            if &var.shape != shape {
                return Err(config_error(
                    name,
                    format!(
                        "shape {:?}, expected {shape:?} from the config {self:?}",
                        var.shape
                    ),
                ));
            }
        }
        for (name, value) in FLAGS {
            let found = m.int_scalar(name)?;
            if found != value {
                return Err(config_error(
                    name,
                    format!("{found}, the book's Whisper needs {value}"),
                ));
            }
        }
        let known = |n: &str| {
            expected.contains_key(n)
                || FLAGS.iter().any(|(f, _)| *f == n)
                || IGNORED.contains(&n)
                || n.ends_with("/num_heads")
        };
        if let Some(v) = m.variables.iter().find(|v| !known(&v.name)) {
            return Err(config_error(
                &v.name,
                "a variable the book's Whisper does not use".into(),
            ));
        }
        // The output layer: tied to the token embedding, with no bias.
        match m
            .aliases
            .iter()
            .find(|(a, _)| a == "decoder/projection/weight")
        {
            Some((_, target)) if target == "decoder/embeddings/weight" => {}
            _ => return Err(config_error(
                "decoder/projection/weight",
                "expected an alias of decoder/embeddings/weight (a tied output layer)"
                    .into(),
            )),
        }
        if let Some((a, _)) = m
            .aliases
            .iter()
            .find(|(a, _)| a != "decoder/projection/weight")
        {
            return Err(config_error(
                a,
                "an alias the book's Whisper does not use".into(),
            ));
        }
        Ok(())
    }
}

// ANCHOR: sinusoids
/// Whisper's encoder positions: sines in the first C/2 columns, cosines in the last,
/// at timescales from 1 to 10⁴ spaced geometrically over C/2 - 1 steps
/// (openai-whisper's `sinusoids`; Chapter 2's table interleaves sin and cos instead).
// -> [length, channels]
pub fn sinusoids(length: usize, channels: usize) -> Array2<f32> {
    let half = channels / 2;
    let step = 10_000f64.ln() / (half as f64 - 1.0);
    Array2::from_shape_fn((length, channels), |(t, j)| {
        let angle = t as f64 * (-step * (j % half) as f64).exp();
        (if j < half { angle.sin() } else { angle.cos() }) as f32
    })
}
// ANCHOR_END: sinusoids

// ANCHOR: whisper
/// Whisper: encoder = conv stem + positions + Pre-LN blocks + LayerNorm; decoder =
/// token embedding + learned positions + Pre-LN decoder layers + LayerNorm; logits =
/// h Eᵀ with the same embedding E.
pub struct Whisper {
    pub cfg: WhisperConfig,
    pub stem: ConvStem,
    pub enc_pos: Array2<f32>, // [n_audio_ctx, C], the file's copy of `sinusoids`
    pub encoder: EncoderStack,
    pub embed: Embedding,     // [vocab, C], also the output layer
    pub dec_pos: Array2<f32>, // [n_text_ctx, C], learned
    pub decoder: DecoderStack,
}
// ANCHOR_END: whisper

/// Reads weights by name: [out, in] linear weights become the book's [in, out].
struct Reader<'a>(&'a Ct2Model);

impl Reader<'_> {
    fn vector(&self, name: &str) -> Result<Array1<f32>, WhisperError> {
        self.0
            .floats(name)?
            .into_dimensionality::<Ix1>()
            .map_err(|e| config_error(name, e.to_string()))
    }
    fn matrix(&self, name: &str) -> Result<Array2<f32>, WhisperError> {
        self.0
            .floats(name)?
            .into_dimensionality::<Ix2>()
            .map_err(|e| config_error(name, e.to_string()))
    }
    // [out, in] -> [in, out]
    fn linear_w(&self, name: &str) -> Result<Array2<f32>, WhisperError> {
        Ok(self.matrix(name)?.t().as_standard_layout().into_owned())
    }
    fn conv(&self, name: &str, stride: usize) -> Result<Conv1d, WhisperError> {
        let w = self
            .0
            .floats(&format!("{name}/weight"))?
            .into_dimensionality::<Ix3>()
            .map_err(|e| config_error(name, e.to_string()))?;
        Ok(Conv1d::from_params(
            w,
            self.vector(&format!("{name}/bias"))?,
            stride,
            1,
        ))
    }
    fn norm(&self, ln: &mut LayerNorm, scope: &str) -> Result<(), WhisperError> {
        ln.gamma.value = self.vector(&format!("{scope}/layer_norm/gamma"))?;
        ln.beta.value = self.vector(&format!("{scope}/layer_norm/beta"))?;
        Ok(())
    }
    fn ffn(&self, ffn: &mut Ffn, scope: &str) -> Result<(), WhisperError> {
        ffn.act = Activation::Gelu;
        ffn.fc1.w.value = self.linear_w(&format!("{scope}/linear_0/weight"))?;
        ffn.fc1.b.value = self.vector(&format!("{scope}/linear_0/bias"))?;
        ffn.fc2.w.value = self.linear_w(&format!("{scope}/linear_1/weight"))?;
        ffn.fc2.b.value = self.vector(&format!("{scope}/linear_1/bias"))?;
        Ok(())
    }
}

// ANCHOR: split
impl Reader<'_> {
    /// The fused [3C, C] Q,K,V matrix is Chapter 3's W_qkv transposed: its columns
    /// [0, C) give Q, [C, 2C) K and [2C, 3C) V, the same order. Whisper's key
    /// projection has no bias; the converter stores zeros in its third of the bias.
    fn self_attention(
        &self,
        a: &mut MultiHeadAttention,
        scope: &str,
    ) -> Result<(), WhisperError> {
        a.w_qkv.value = self.linear_w(&format!("{scope}/linear_0/weight"))?;
        a.b_qkv.value = self.vector(&format!("{scope}/linear_0/bias"))?;
        a.w_o.value = self.linear_w(&format!("{scope}/linear_1/weight"))?;
        a.b_o.value = self.vector(&format!("{scope}/linear_1/bias"))?;
        Ok(())
    }

    /// Cross-attention: the query alone ([C, C]), then K and V fused ([2C, C]), as
    /// Chapter 3's w_q and w_kv; the output projection is the third matrix.
    fn cross_attention(
        &self,
        a: &mut CrossAttention,
        scope: &str,
    ) -> Result<(), WhisperError> {
        a.w_q.value = self.linear_w(&format!("{scope}/linear_0/weight"))?;
        a.b_q.value = self.vector(&format!("{scope}/linear_0/bias"))?;
        a.w_kv.value = self.linear_w(&format!("{scope}/linear_1/weight"))?;
        a.b_kv.value = self.vector(&format!("{scope}/linear_1/bias"))?;
        a.w_o.value = self.linear_w(&format!("{scope}/linear_2/weight"))?;
        a.b_o.value = self.vector(&format!("{scope}/linear_2/bias"))?;
        Ok(())
    }
}
// ANCHOR_END: split

// ANCHOR: load (long: every parameter and where it comes from, in one place)
impl Whisper {
    /// Builds the book's modules at the file's sizes, then sets every parameter from
    /// its variable (the random initial values are all overwritten).
    pub fn from_ct2(m: &Ct2Model) -> Result<Self, WhisperError> {
        let cfg = WhisperConfig::from_ct2(m)?;
        let (c, h, f) = (cfg.d_model, cfg.n_heads, cfg.d_ff);
        let rng = &mut seeded_rng(0);
        let r = Reader(m);
        let mut encoder =
            EncoderStack::new(cfg.n_enc_layers, c, h, f, Wiring::PreLn, rng);
        for (i, b) in encoder.blocks.iter_mut().enumerate() {
            let l = format!("encoder/layer_{i}");
            r.norm(&mut b.norm1, &format!("{l}/self_attention"))?;
            r.self_attention(&mut b.attn, &format!("{l}/self_attention"))?;
            r.norm(&mut b.norm2, &format!("{l}/ffn"))?;
            r.ffn(&mut b.ffn, &format!("{l}/ffn"))?;
        }
        r.norm(encoder.final_norm.as_mut().expect("Pre-LN"), "encoder")?;
        let mut decoder =
            DecoderStack::new(cfg.n_dec_layers, c, h, f, Wiring::PreLn, rng);
        for (i, d) in decoder.layers.iter_mut().enumerate() {
            let l = format!("decoder/layer_{i}");
            r.norm(&mut d.norm1, &format!("{l}/self_attention"))?;
            r.self_attention(&mut d.self_attn, &format!("{l}/self_attention"))?;
            r.norm(&mut d.norm2, &format!("{l}/attention"))?;
            r.cross_attention(&mut d.cross_attn, &format!("{l}/attention"))?;
            r.norm(&mut d.norm3, &format!("{l}/ffn"))?;
            r.ffn(&mut d.ffn, &format!("{l}/ffn"))?;
        }
        r.norm(decoder.final_norm.as_mut().expect("Pre-LN"), "decoder")?;
        let mut embed = Embedding::new(1, c, 0.0, rng);
        embed.table.value = r.matrix("decoder/embeddings/weight")?;
        embed.table.grad = Array2::zeros(embed.table.value.dim());
        Ok(Whisper {
            stem: ConvStem::new(r.conv("encoder/conv1", 1)?, r.conv("encoder/conv2", 2)?),
            enc_pos: r.matrix("encoder/position_encodings/encodings")?,
            encoder,
            embed,
            dec_pos: r.matrix("decoder/position_encodings/encodings")?,
            decoder,
            cfg,
        })
    }
}
// ANCHOR_END: load

// ANCHOR: encode
impl Whisper {
    /// The encoder's output for one 30-second log-mel window.
    // mel: [n_mels, 2·n_audio_ctx] -> [n_audio_ctx, C]
    pub fn encode(&mut self, mel: &Array2<f32>) -> Result<Array2<f32>, WhisperError> {
        let want = (self.cfg.n_mels, 2 * self.cfg.n_audio_ctx);
        if mel.dim() != want {
            return Err(WhisperError::Input(format!(
                "the log-mel is {:?}, expected {want:?} (pad or trim the audio to 30 s)",
                mel.shape()
            )));
        }
        if let Some(i) = mel.iter().position(|v| !v.is_finite()) {
            return Err(WhisperError::Input(format!(
                "log-mel value #{i} is not finite"
            )));
        }
        let x = self.stem.forward(mel) + &self.enc_pos; // [n_audio_ctx, C]
        let (t, c) = x.dim();
        let x = x.into_shape_with_order((1, t, c)).expect("standard layout");
        let m = self.encoder.forward(&x, None);
        Ok(m.index_axis_move(Axis(0), 0))
    }
}
// ANCHOR_END: encode

// ANCHOR: decode
impl Whisper {
    /// The decoder's final hidden states for `ids`, given the encoder's output `m`.
    /// Chapter 7's decoder reruns on the whole sequence each call; decoding goes through
    /// the KV cache instead ([`Whisper::hidden_cached`]), and tests hold the two equal.
    // m: [n_audio_ctx, C], ids: [T] -> [T, C]
    pub fn hidden(
        &mut self,
        m: &Array2<f32>,
        ids: &[u32],
    ) -> Result<Array2<f32>, WhisperError> {
        let (t, c) = (ids.len(), self.cfg.d_model);
        self.check_ids(ids, 0)?;
        let ids: Vec<usize> = ids.iter().map(|&id| id as usize).collect();
        let y = self.embed.forward(&ids) + self.dec_pos.slice(s![..t, ..]);
        let y = y.into_shape_with_order((1, t, c)).expect("standard layout");
        let m = m.view().insert_axis(Axis(0)).to_owned(); // [1, S, C]
        let pad = Padding {
            src: None,
            tgt: None,
        };
        let h = self.decoder.forward(&y, &m, pad);
        Ok(h.index_axis_move(Axis(0), 0))
    }
}
// ANCHOR_END: decode

impl Whisper {
    /// The logits after every prefix of `ids`: h Eᵀ, the tied output layer.
    // m: [n_audio_ctx, C], ids: [T] -> [T, vocab]
    pub fn logits(
        &mut self,
        m: &Array2<f32>,
        ids: &[u32],
    ) -> Result<Array2<f32>, WhisperError> {
        Ok(self.hidden(m, ids)?.dot(&self.embed.table.value.t()))
    }

    /// The logits of the token after `ids`: the last row of [`Whisper::logits`], the
    /// only one greedy decoding needs.
    // m: [n_audio_ctx, C], ids: [T] -> [vocab]
    pub fn next_logits(
        &mut self,
        m: &Array2<f32>,
        ids: &[u32],
    ) -> Result<Array1<f32>, WhisperError> {
        let h = self.hidden(m, ids)?;
        Ok(self.last_logits(&h))
    }

    /// `ids` must be 1 or more tokens of the vocabulary, and fit after `past` positions.
    pub(crate) fn check_ids(&self, ids: &[u32], past: usize) -> Result<(), WhisperError> {
        let (t, n) = (ids.len(), self.cfg.n_text_ctx);
        if t == 0 || past + t > n {
            let after = if past > 0 {
                format!(" after {past} in the cache")
            } else {
                String::new()
            };
            return Err(WhisperError::Input(format!(
                "{t} tokens{after}: the decoder takes 1 to {n}"
            )));
        }
        if let Some(id) = ids.iter().find(|&&id| id as usize >= self.cfg.vocab) {
            return Err(WhisperError::Input(format!(
                "token id {id} is outside the vocabulary of {}",
                self.cfg.vocab
            )));
        }
        Ok(())
    }
}

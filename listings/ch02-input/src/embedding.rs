//! The embedding layer: token ids in, vectors out (section "Embeddings"). Forward is a
//! row gather, backward a scatter-add into the table, and the same table can double as
//! the output layer (weight tying).

use ndarray::{Array2, ArrayRef2, Axis, Ix2};
use rand::Rng;

use ch01_foundations::init::normal;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};

// ANCHOR: one_hot
/// The one-hot matrix of `ids`: row t has a single 1 in column ids[t]. Looking up rows of
/// E is the product one_hot(ids) · E; the layer below computes it without the zeros.
// ids: [T] -> [T, vocab]
pub fn one_hot(ids: &[usize], vocab: usize) -> Array2<f32> {
    let mut x = Array2::zeros((ids.len(), vocab));
    for (t, &id) in ids.iter().enumerate() {
        assert!(
            id < vocab,
            "one_hot: token id {id} is out of range for vocab {vocab}"
        );
        x[[t, id]] = 1.0;
    }
    x
}
// ANCHOR_END: one_hot

// ANCHOR: embedding
/// A learned table E: [vocab, d_model]; token id v is represented by row E[v].
pub struct Embedding {
    pub table: Param<Ix2>,
    ids: Option<Vec<usize>>,
    h: Option<Array2<f32>>,
}

impl Embedding {
    /// Entries drawn from N(0, std²). GPT-2 uses std = 0.02; the 2017 Transformer, whose
    /// table is shared with the output layer, uses std = d_model^-1/2.
    pub fn new(vocab: usize, d_model: usize, std: f32, rng: &mut impl Rng) -> Self {
        let table = Param::new(normal((vocab, d_model), std, rng));
        Embedding {
            table,
            ids: None,
            h: None,
        }
    }

    pub fn vocab(&self) -> usize {
        self.table.value.nrows()
    }

    // ids: [T] -> x: [T, d_model], x[t] = E[ids[t]]
    pub fn forward(&mut self, ids: &[usize]) -> Array2<f32> {
        let vocab = self.vocab();
        if let Some(&id) = ids.iter().find(|&&id| id >= vocab) {
            panic!(
                "embedding: token id {id} is out of range for a vocab of size {vocab}"
            );
        }
        self.ids = Some(ids.to_vec());
        self.table.value.select(Axis(0), ids)
    }
}
// ANCHOR_END: embedding

// ANCHOR: embedding_backward
impl Embedding {
    // dx: [T, d_model] -> nothing (ids are integers); adds dx[t] into E.grad[ids[t]]
    pub fn backward(&mut self, dx: &ArrayRef2<f32>) {
        let ids = self.ids.as_ref().expect("backward called before forward");
        assert_eq!(
            dx.nrows(),
            ids.len(),
            "embedding backward: dx is {:?} but forward saw {} ids",
            dx.dim(),
            ids.len()
        );
        // Scatter-add, not assign: a token that occurs twice receives both gradients.
        for (&id, row) in ids.iter().zip(dx.rows()) {
            let mut g = self.table.grad.row_mut(id);
            g += &row;
        }
    }
}
// ANCHOR_END: embedding_backward

// ANCHOR: tied
impl Embedding {
    /// Weight tying: the output layer reuses E, so logits[t, v] = h[t] · E[v].
    // h: [T, d_model] -> logits: [T, vocab]
    pub fn unembed(&mut self, h: &ArrayRef2<f32>) -> Array2<f32> {
        assert_eq!(
            h.ncols(),
            self.table.value.ncols(),
            "unembed: h is {:?} but the table is {:?}",
            h.dim(),
            self.table.value.dim()
        );
        self.h = Some(h.to_owned());
        h.dot(&self.table.value.t())
    }

    // dlogits: [T, vocab] -> dh: [T, d_model]; adds dlogitsᵀ h into E.grad
    pub fn unembed_backward(&mut self, dlogits: &ArrayRef2<f32>) -> Array2<f32> {
        let h = self
            .h
            .as_ref()
            .expect("unembed_backward called before unembed");
        // The same E.grad the lookup scatters into: a shared parameter sums its
        // gradients.
        self.table.grad += &dlogits.t().dot(h);
        dlogits.dot(&self.table.value)
    }
}
// ANCHOR_END: tied

impl Module for Embedding {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("table", self.table.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("table", self.table.view_mut());
    }
}

/// What the section "Embeddings" prints.
pub mod report {
    use std::fmt::Write;

    use ndarray::Array2;

    use super::{Embedding, one_hot};
    use crate::positions::sinusoidal::sinusoidal;
    use ch01_foundations::init::seeded_rng;
    use ch01_foundations::report::{round, round_all};

    macro_rules! out {
        ($s:expr, $($arg:tt)*) => {
            writeln!($s, $($arg)*).expect("writing to a String")
        };
    }

    /// Lookup as a one-hot product, and the scatter-add gradient with a repeated id.
    pub fn gradient_demo() -> String {
        let mut s = String::new();
        let mut emb = Embedding::new(5, 3, 1.0, &mut seeded_rng(0));
        let ids = [3, 1, 3];
        let x = emb.forward(&ids);
        let via_one_hot = one_hot(&ids, 5).dot(&emb.table.value);
        out!(s, "ids = {ids:?}");
        for (t, row) in x.rows().into_iter().enumerate() {
            out!(s, "x[{t}] = E[{}] = {}", ids[t], round_all(row, 4));
        }
        out!(
            s,
            "one_hot(ids) · E equals the gather: {}",
            x == via_one_hot
        );
        let dx = Array2::from_shape_vec(
            (3, 3),
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 2.0],
        )
        .expect("3 x 3");
        emb.backward(&dx);
        for (t, row) in dx.rows().into_iter().enumerate() {
            out!(s, "dx[{t}] = {}", round_all(row, 2));
        }
        for (v, row) in emb.table.grad.rows().into_iter().enumerate() {
            out!(s, "E.grad[{v}] = {}", round_all(row, 2));
        }
        s
    }

    /// Why the 2017 Transformer multiplies embeddings by √d_model before adding the
    /// sinusoidal encoding: the sizes of the two terms, before and after.
    pub fn scale_demo() -> String {
        let mut s = String::new();
        let (vocab, d_model, t) = (1000, 512, 128);
        let std = (d_model as f32).powf(-0.5);
        let mut emb = Embedding::new(vocab, d_model, std, &mut seeded_rng(1));
        let ids: Vec<usize> = (0..t).map(|i| (i * 37) % vocab).collect();
        let x = emb.forward(&ids);
        let scaled = &x * (d_model as f32).sqrt();
        let pe = sinusoidal(t, d_model);
        let rms = |a: &Array2<f32>| (a.mapv(|v| v * v).mean().expect("non-empty")).sqrt();
        let norm = |a: &Array2<f32>| {
            a.rows().into_iter().map(|r| r.dot(&r).sqrt()).sum::<f32>() / a.nrows() as f32
        };
        out!(
            s,
            "d_model = {d_model}, init std = d_model^-1/2 = {}",
            round(std, 4)
        );
        out!(s, "{:<22} {:>10} {:>14}", "", "entry RMS", "mean row norm");
        for (name, a) in [
            ("E[ids]", &x),
            ("√d_model · E[ids]", &scaled),
            ("PE[0..128]", &pe),
        ] {
            out!(
                s,
                "{:<22} {:>10} {:>14}",
                name,
                round(rms(a), 3),
                round(norm(a), 2)
            );
        }
        // Mean over rows of cos(x_t + pe_t, b_t): how much of the sum points along b.
        let cos = |x: &Array2<f32>, b: &Array2<f32>| {
            let sum = x + &pe;
            let c: f32 = sum
                .rows()
                .into_iter()
                .zip(b.rows())
                .map(|(u, v)| u.dot(&v) / (u.dot(&u).sqrt() * v.dot(&v).sqrt()))
                .sum();
            c / x.nrows() as f32
        };
        out!(
            s,
            "{:<22} {:>16} {:>16}",
            "x",
            "cos(x + PE, x)",
            "cos(x + PE, PE)"
        );
        for (name, a) in [("E[ids]", &x), ("√d_model · E[ids]", &scaled)] {
            out!(
                s,
                "{:<22} {:>16} {:>16}",
                name,
                round(cos(a, a), 3),
                round(cos(a, &pe), 3)
            );
        }
        s
    }

    /// Weight tying: one table, two uses, one summed gradient.
    pub fn tying_demo() -> String {
        let mut s = String::new();
        let (vocab, d_model) = (6, 4);
        let mut emb = Embedding::new(vocab, d_model, 0.5, &mut seeded_rng(2));
        out!(
            s,
            "table E: [{vocab}, {d_model}], {} parameters",
            vocab * d_model
        );
        let h = emb.forward(&[2, 5, 2]);
        let logits = emb.unembed(&h);
        out!(
            s,
            "h = E[[2, 5, 2]]: {:?} -> logits = h Eᵀ: {:?}",
            h.dim(),
            logits.dim()
        );
        out!(s, "logits[0] = {}", round_all(logits.row(0), 3));
        out!(
            s,
            "logits[0][2] = |E[2]|² = {} (a token scores itself highly)",
            round(emb.table.value.row(2).dot(&emb.table.value.row(2)), 3)
        );
        s
    }
}

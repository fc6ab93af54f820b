//! SmolLM2 in every weight format of the chapter: Chapter 9's model, whose matrices are
//! stored and multiplied as f32, Q8_0, Q4_1 or int8 blocks through the [`Weight`] trait,
//! or rounded by one of the chapter's own schemes and kept in f32 to measure quality.

use ch09_decoder_only::gguf::{GgmlType, Gguf, GgufError};
use ch09_decoder_only::llama::{Llama, Weight, matrix};
use ndarray::{Array1, Array2, ArrayView2};

use crate::kernels::{Int8Matrix, Q4_1Matrix, Q8_0Matrix, QuantError, QuantizedMatrix};

// ANCHOR: stored
/// One weight matrix in whichever format it is stored in. A model holds one type, and
/// SmolLM2's GGUF mixes two (Q4_1 layers, a Q8_0 embedding), so the formats share an enum.
pub enum Stored {
    F32(Array2<f32>),
    Q8_0(Q8_0Matrix),
    Q4_1(Q4_1Matrix),
    Int8(Int8Matrix),
    /// f32 weights rounded to a grid of `bits_per_weight` bits (codes and scales): the
    /// quality of a format without its kernel.
    Rounded {
        w: Array2<f32>,
        bits_per_weight: f64,
    },
}

impl Stored {
    fn weight(&self) -> &dyn Weight {
        match self {
            Stored::F32(w) | Stored::Rounded { w, .. } => w,
            Stored::Q8_0(m) => m,
            Stored::Q4_1(m) => m,
            Stored::Int8(m) => m,
        }
    }
}
// ANCHOR_END: stored

// ANCHOR: stored_weight
impl Weight for Stored {
    fn apply(&self, x: ArrayView2<f32>) -> Array2<f32> {
        self.weight().apply(x)
    }

    fn row(&self, i: usize) -> Array1<f32> {
        self.weight().row(i)
    }

    fn bytes(&self) -> usize {
        match self {
            Stored::Rounded { w, bits_per_weight } => {
                (w.len() as f64 * bits_per_weight / 8.0).ceil() as usize
            }
            s => s.weight().bytes(),
        }
    }
}
// ANCHOR_END: stored_weight

// ANCHOR: quantized_weight
/// Chapter 9's [`Weight`] for the kernels' matrices: their integer product, a row
/// dequantized (the embedding lookup), the bytes of their blocks.
macro_rules! quantized_weight {
    ($($matrix:ty),*) => {$(
        impl Weight for $matrix {
            fn apply(&self, x: ArrayView2<f32>) -> Array2<f32> {
                self.matmul(x)
            }

            fn row(&self, i: usize) -> Array1<f32> {
                Array1::from(QuantizedMatrix::row(self, i))
            }

            fn bytes(&self) -> usize {
                QuantizedMatrix::bytes(self)
            }
        }
    )*};
}
quantized_weight!(Q8_0Matrix, Q4_1Matrix, Int8Matrix);
// ANCHOR_END: quantized_weight

/// How to store SmolLM2's matrices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// Every matrix dequantized to f32: Chapter 9's model.
    F32,
    /// Each tensor as the file stores it: Q4_1 and Q8_0 blocks through the kernels.
    File,
    /// Every matrix requantized to Q8_0 from its f32 values.
    Q8_0,
    /// Every matrix as int8 codes with one f32 scale per row.
    Int8,
}

// ANCHOR: load
/// SmolLM2 from `g` with its matrices stored as `format` says.
pub fn load(g: &Gguf, format: Format) -> Result<Llama<Stored>, GgufError> {
    Llama::from_gguf_with(g, |g, name, shape| {
        let bad = |e: QuantError| GgufError::BadTensor {
            tensor: name.into(),
            problem: e.to_string(),
        };
        let f32 = || matrix(g, name, shape);
        Ok(match format {
            Format::F32 => Stored::F32(f32()?),
            Format::File => match g.tensor(name)?.ty {
                GgmlType::Q4_1 => {
                    Stored::Q4_1(Q4_1Matrix::from_gguf(g, name, shape).map_err(bad)?)
                }
                GgmlType::Q8_0 => {
                    Stored::Q8_0(Q8_0Matrix::from_gguf(g, name, shape).map_err(bad)?)
                }
                _ => Stored::F32(f32()?),
            },
            Format::Q8_0 => {
                Stored::Q8_0(Q8_0Matrix::quantize(f32()?.view()).map_err(bad)?)
            }
            Format::Int8 => {
                Stored::Int8(Int8Matrix::quantize(f32()?.view()).map_err(bad)?)
            }
        })
    })
}
// ANCHOR_END: load

/// SmolLM2 with every linear layer rounded by `round` (a quantize-then-dequantize of one
/// of the chapter's own schemes, which also gives the bits per weight it stores), kept in
/// f32 to measure the scheme's quality. The tied embedding stays as the file stores it
/// (Q8_0's values), as llama.cpp's 4-bit files keep it: it is also the LM head, and the
/// scheme is about the layers.
pub fn load_rounded(
    g: &Gguf,
    round: impl Fn(ArrayView2<f32>) -> Result<(Array2<f32>, f64), String>,
) -> Result<Llama<Stored>, GgufError> {
    Llama::from_gguf_with(g, |g, name, shape| {
        let w = matrix(g, name, shape)?;
        if name == "token_embd.weight" {
            let ty = g.tensor(name)?.ty; // the file's bits: codes and scales of a block
            let bits_per_weight = (ty.type_size() * 8) as f64 / ty.block_size() as f64;
            return Ok(Stored::Rounded { w, bits_per_weight });
        }
        let problem = |problem| GgufError::BadTensor {
            tensor: name.into(),
            problem,
        };
        let (w, bits_per_weight) = round(w.view()).map_err(problem)?;
        Ok(Stored::Rounded { w, bits_per_weight })
    })
}

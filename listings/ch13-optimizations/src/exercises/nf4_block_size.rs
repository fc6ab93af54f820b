//! Exercise: what the NF4 block size trades, bits a weight against error.

use crate::nf4::{Nf4Config, Nf4Error, Nf4Tensor, quant_error};

// ANCHOR: nf4_block_size
/// For each block size: the storage bits a weight (with double-quantized scales in
/// blocks of 256) and the relative RMS error of the roundtrip.
// w: [n] -> one (block, bits per weight, relative RMS error) a block size
pub fn block_size_sweep(
    w: &[f32],
    blocks: &[usize],
) -> Result<Vec<(usize, f64, f64)>, Nf4Error> {
    blocks
        .iter()
        .map(|&block| {
            let config = Nf4Config {
                block,
                scale_block: Some(256),
            };
            let q = Nf4Tensor::quantize(w, config)?;
            let err = quant_error(w, &q.dequantize(), &[]).rel_rms;
            Ok((block, q.bits_per_param(), err))
        })
        .collect()
}
// ANCHOR_END: nf4_block_size

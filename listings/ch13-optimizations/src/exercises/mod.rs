//! Solutions to the chapter's exercises, one module each.

pub mod clipped_scale;
pub mod lora_unmerge;
pub mod nf4_block_size;
pub mod online_softmax;
pub mod q4_0;

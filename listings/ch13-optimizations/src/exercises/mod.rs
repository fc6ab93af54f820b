//! Exercise solutions, one module each.
pub mod nf4_block_size;
pub mod q4_0;
pub mod lora_unmerge;
//! Solutions to the chapter's exercises, one module each.

pub mod clipped_scale;

//! Solutions to the chapter's exercises, one module each.

pub mod clipped_scale;

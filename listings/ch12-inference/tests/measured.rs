//! The numbers the chapter's pages quote, read from the committed outputs under
//! `src/figures/ch12/`, and the claims the text makes about them asserted; one module
//! per page.

#[path = "measured/kv_cache.rs"]
mod kv_cache;
#[path = "measured/roofline.rs"]
mod roofline;
#[path = "measured/sampling.rs"]
mod sampling;
#[path = "measured/speculative.rs"]
mod speculative;
#[path = "measured/speed.rs"]
mod speed;

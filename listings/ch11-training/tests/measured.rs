//! The numbers the chapter's pages quote, read from the committed outputs under
//! `src/figures/ch11/`, and the claims the text makes about them asserted; one module
//! per page.

#[path = "measured/clipping_accumulation.rs"]
mod clipping_accumulation;
#[path = "measured/optimizers.rs"]
mod optimizers;
#[path = "measured/precision.rs"]
mod precision;
#[path = "measured/stability.rs"]
mod stability;

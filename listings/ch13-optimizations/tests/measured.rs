//! What the chapter's pages say about the committed outputs under src/figures/ch13,
//! one module a page. Nothing is timed here, and only the QAT module trains (a tiny run
//! into a temporary folder): when a rerun changes an output, these tests name the
//! sentence that no longer holds.

#[path = "measured/flash.rs"]
mod flash;
#[path = "measured/formats.rs"]
mod formats;
#[path = "measured/lora.rs"]
mod lora;
#[path = "measured/nf4.rs"]
mod nf4;
#[path = "measured/qat.rs"]
mod qat;
#[path = "measured/quality.rs"]
mod quality;
#[path = "measured/speed.rs"]
mod speed;

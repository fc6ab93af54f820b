//! The book's SGD, Adam and AdamW against torch.optim's fixture, the largest errors:
//!
//!   cargo run -p ch11-training --example optim_parity > src/figures/ch11/optim-parity.txt

#[path = "../tests/common/parity.rs"]
mod parity;

fn main() {
    print!("{}", parity::parity_table());
}

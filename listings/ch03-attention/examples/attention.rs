//! Prints what the chapter shows: `cargo run -p ch03-attention --example attention`
//! (the scaling table, the masks, the multi-head and cross-attention layers, and where
//! the hand-set previous-token head looks in a real sentence).
use ch03_attention::report;

fn main() {
    for (title, text) in [
        ("Why scale by 1/√d_k", report::scaling_table()),
        ("Masks", report::masks_demo()),
        ("Multi-head attention", report::mha_demo()),
        ("Cross-attention", report::cross_demo()),
        (
            "A previous-token head on a real sentence",
            report::sentence_demo(),
        ),
    ] {
        println!("== {title} ==\n{text}");
    }
}

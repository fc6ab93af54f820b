//! The cache-budget exercise: 1 GiB of f32 cache at SmolLM2's shape.

use ch12_inference::exercises::cache_budget::{budget_table, tokens_that_fit};

#[test]
fn a_gib_holds_three_times_the_context_with_gqa() {
    let gib = 1 << 30;
    let table = budget_table(gib, 1);
    // 2 · 30 · H_kv · 64 · 4 bytes a token: 138,240 (MHA), 46,080 (GQA), 15,360 (MQA).
    assert_eq!(
        table,
        [
            ("MHA", gib / 138_240),
            ("GQA", gib / 46_080),
            ("MQA", gib / 15_360)
        ]
    );
    assert_eq!(table[1].1, 23_301);
    // A batch of 8 shares the budget.
    assert_eq!(tokens_that_fit(gib, 8, (30, 3, 64, 4)), gib / (8 * 46_080));
    assert_eq!(
        tokens_that_fit(gib, 0, (30, 3, 64, 4)),
        23_301,
        "batch 0 counts as 1"
    );
}

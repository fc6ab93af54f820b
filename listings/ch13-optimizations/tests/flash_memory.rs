//! The `flash_measure` example's measurement at a tiny size, with the counting allocator
//! installed as in the example (a test binary of its own: the counter is global, so no
//! other test may allocate while it measures).

use ch13_optimizations::flash::Blocks;
use ch13_optimizations::flash_measure::{CountingAlloc, Setup, measure_row, table};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn naive_holds_the_t_by_t_weights_and_flash_does_not() {
    let (t, d) = (256, 16);
    let square = t * t * 4;
    // A budget that fits one T x T array but not two: the forward runs, f+b does not.
    let setup = Setup {
        d,
        budget: square,
        blocks: Blocks { b_r: 32, b_c: 32 },
    };
    let row = measure_row(t, setup, 1).unwrap();
    let naive = row.naive_fwd.expect("one array fits the budget");
    assert!(
        naive.bytes >= square,
        "naive forward: {} bytes",
        naive.bytes
    );
    assert!(row.naive_fwd_bwd.is_none(), "two arrays do not fit");
    // Flash: the output [T, d] and lse [T], plus a few 32 x 32 tiles per block.
    let out = t * d * 4 + t * 4;
    assert!(row.flash_fwd.bytes >= out && row.flash_fwd.bytes < out + 64 * 1024);
    // Forward + backward: O, lse, dQ, dK, dV, D, and tiles.
    assert!(row.flash_fwd_bwd.bytes >= 4 * t * d * 4);
    assert!(row.flash_fwd_bwd.bytes < 4 * t * d * 4 + 128 * 1024);
    let text = table(std::slice::from_ref(&row));
    assert!(text.lines().nth(1).unwrap().starts_with("256 | "), "{text}");
    let dashes = text
        .lines()
        .nth(1)
        .unwrap()
        .split(" | ")
        .filter(|c| *c == "-");
    assert_eq!(dashes.count(), 4, "{text}");
}

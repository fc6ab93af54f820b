//! The text's claims about the committed speed run (section "Speed"), checked against
//! src/figures/ch08/embed-speed.txt, which the text includes. Nothing is timed here:
//! `cargo xtask bench` rewrites the file, and if a rerun changes what it shows, this test
//! says which sentence no longer holds.

use golden::{cell as num, measured_rows};

#[test]
fn embed_speed_says_what_the_text_says() {
    let all = measured_rows("ch08/embed-speed.txt");
    let (speed, parts): (Vec<_>, Vec<_>) = all.iter().partition(|r| r.len() == 4);
    assert_eq!(speed.len(), 2, "one speed row per thread count");
    for r in &speed {
        // "above 1 means the book's code is faster; on this machine it is, at both thread
        // counts"
        let (torch, ours, speed_up) = (num(&r[1]), num(&r[2]), num(&r[3]));
        assert!(ours > torch && speed_up > 1.0, "{r:?}");
    }
    assert_eq!(parts.len(), 4, "PyTorch and ours at each thread count");
    let part = |threads: &str, side: &str| -> [f64; 3] {
        let r = parts
            .iter()
            .find(|r| r[0] == threads && r[1] == side)
            .unwrap_or_else(|| panic!("no row for {side} at {threads} thread(s)"));
        [num(&r[2]), num(&r[3]), num(&r[4])]
    };
    for side in ["PyTorch", "ours"] {
        // "the second thread shortens the run on both sides"
        assert!(part("2", side)[0] < part("1", side)[0], "{side}");
        for threads in ["1", "2"] {
            // "Tokenization is a small part of the time on both sides ... nearly all of the
            // time is the six blocks"
            let [whole, tokenize, model] = part(threads, side);
            assert!(
                tokenize < 0.05 * whole && model > 0.9 * whole,
                "{side} {threads}"
            );
        }
    }
    for threads in ["1", "2"] {
        // "the book's WordPiece takes less than a fifth of the time of Hugging Face's"
        assert!(part(threads, "ours")[1] < part(threads, "PyTorch")[1] / 5.0);
    }
}

//! Tier 4: the chapter's training run (seeded, a few seconds at opt-level 3) learns the
//! pattern, and continues keys it never saw exactly. Its report is pinned as a snapshot.

use ch01_foundations::init::seeded_rng;
use ch06_decoder::data::letters;
use ch06_decoder::exercises::generate_sliding;
use ch06_decoder::report::train_report;
use ch06_decoder::train::{TRAIN, evaluate, train};

#[test]
fn the_tiny_lm_learns_to_continue_held_out_keys() {
    let mut run = train(&TRAIN);
    let first = run.losses[0];
    let last: f32 = run.losses[TRAIN.steps - 20..].iter().sum::<f32>() / 20.0;
    assert!(first > 2.0, "starts near chance (ln 12 ≈ 2.48): {first}");
    assert!(last < 0.05, "mean loss of the last 20 steps {last}");
    let e = evaluate(&mut run.model, &TRAIN.pattern, 50, 3);
    assert_eq!(e.exact, e.prompts, "{e:?}");
    let text = train_report(&TRAIN, &mut run);
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("train", text);
    });
    // Exercise 1's question, answered by the trained model: 40 tokens from held-out keys,
    // the window sliding once the sequence passes max_len = 16.
    let mut rng = seeded_rng(11);
    let mut text =
        String::from("prompt  40 generated tokens (window slides after 16)  right\n");
    for _ in 0..4 {
        let key = TRAIN.pattern.key(true, &mut rng);
        let out = generate_sliding(&mut run.model, &key, 40).unwrap();
        let right = (4..44).filter(|&t| out[t] == key[t % 4]).count();
        text += &format!("{}    {}  {right}/40\n", letters(&key), letters(&out[4..]));
    }
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("sliding", text);
    });
}

//! The text-to-text pieces: the vocabulary, the two tasks and their held-out splits,
//! and a short run of the whole experiment (the tiny config, fixed seed) that must
//! clear a quality bar: pretraining lowers the held-out span-corruption loss, and both
//! fine-tuned models summarise reports written with templates they never saw.

use std::collections::HashSet;

use ch01_foundations::init::seeded_rng;
use ch10_encoder_decoder::t5::span_corruption::sentinel;
use ch10_encoder_decoder::text_to_text::experiment::{ExperimentConfig, report, run};
use ch10_encoder_decoder::text_to_text::tasks::{
    HELDOUT_TEMPLATES, Report, TRAIN_TEMPLATES, Task, TaskMix,
};
use ch10_encoder_decoder::text_to_text::vocab::{EOS, PAD, TextVocab};

#[test]
fn the_vocabulary_round_trips_and_names_its_sentinels() {
    let vocab = TextVocab::train("the cat sat on the mat. the cat sat.", 270, 4).unwrap();
    assert_eq!(vocab.size(), 2 + vocab.n_bpe + 4);
    let text = "translate dates: the first of may nineteen ninety → 1990-05-01";
    let ids = vocab.encode(text);
    assert!(
        ids.iter().all(|&id| id >= 2 && id < 2 + vocab.n_bpe),
        "{ids:?}"
    );
    assert_eq!(vocab.decode(&ids), text);
    let mut with = vec![PAD, sentinel(0, vocab.size())];
    with.extend(vocab.encode("cat"));
    with.extend([sentinel(3, vocab.size()), EOS]);
    assert_eq!(vocab.decode(&with), "<extra_id_0>cat<extra_id_3>");
}

#[test]
fn training_never_draws_a_test_example() {
    let mix = TaskMix::new(50, &mut seeded_rng(1));
    assert_eq!(mix.heldout_dates.len(), 50);
    assert_eq!(mix.heldout_summaries.len(), 50);
    let test: HashSet<&str> =
        mix.heldout_dates.iter().map(|p| p.input.as_str()).collect();
    assert_eq!(test.len(), 50, "distinct test dates");
    let mut rng = seeded_rng(2);
    let mut tasks = [0, 0];
    for _ in 0..4000 {
        let p = mix.next(&mut rng);
        match p.task {
            Task::Dates => {
                assert!(p.input.starts_with("translate dates: "));
                assert!(!test.contains(p.input.as_str()), "{}", p.input);
                tasks[0] += 1;
            }
            Task::Summaries => {
                assert!(p.input.starts_with("summarize: "));
                tasks[1] += 1;
            }
        }
    }
    assert!(tasks.iter().all(|&n| n > 1800), "even odds: {tasks:?}");
    for p in &mix.heldout_summaries {
        assert!(p.input.starts_with("summarize: "), "{}", p.input);
    }
}

#[test]
fn templates_hold_every_fact_and_the_test_templates_are_new() {
    let r = Report::random(&mut seeded_rng(3));
    for t in TRAIN_TEMPLATES.iter().chain(&HELDOUT_TEMPLATES) {
        let text = r.fill(t);
        for fact in [
            r.name,
            r.city,
            r.item,
            r.day,
            r.weather,
            &r.count.to_string(),
        ] {
            assert!(text.contains(fact), "{t}: {fact}");
        }
        assert!(!text.contains('{'), "{text}");
    }
    assert!(
        HELDOUT_TEMPLATES
            .iter()
            .all(|t| !TRAIN_TEMPLATES.contains(t))
    );
    assert_eq!(
        r.summary(),
        format!("{} sold {} {} in {}.", r.name, r.count, r.item, r.city)
    );
}

#[test]
fn a_short_run_clears_the_bar() {
    let o = run(&ExperimentConfig::tiny()).unwrap();
    let text = report(&o);
    eprintln!("{text}");
    // Pretraining: 30 steps take the held-out span-corruption loss well below ln(V).
    let (before, after) = o.pretrain_heldout;
    assert!(
        after < before - 1.5,
        "held-out span loss {before} -> {after}"
    );
    for (name, curve) in [("scratch", &o.scratch), ("pretrained", &o.pretrained)] {
        let (first, last) = (curve.first().unwrap(), curve.last().unwrap());
        assert_eq!((first.step, last.step), (0, 300), "{name}");
        assert!(
            last.loss < 0.6 && last.loss < first.loss / 8.0,
            "{name}: {}",
            last.loss
        );
        // Reports written with templates never trained on: most facts come through.
        assert!(
            last.summaries.rouge_l > 0.6,
            "{name}: {}",
            last.summaries.rouge_l
        );
        assert!(
            last.summaries.exact > 0.0,
            "{name}: no summary exactly right"
        );
    }
}

//! Batches with padding: a padded row gives the logits and the gradients of the same
//! example unpadded (the masks make padding invisible, and padding has no label), the
//! batch loss is the token-weighted mean of the rows' losses, and its gradient, padded
//! path and all, agrees with central finite differences. Greedy decoding and the
//! inputs a padded forward rejects are checked too.

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch10_encoder_decoder::t5::ffn::FeedForward;
use ch10_encoder_decoder::t5::model::{T5, T5Config, T5Error};
use ch10_encoder_decoder::text_to_text::batch::{Pair, Seq2SeqBatch, batch_loss, greedy};
use ch10_encoder_decoder::text_to_text::vocab::{EOS, PAD};
use ndarray::Array2;

fn cfg() -> T5Config {
    T5Config {
        vocab_size: 11,
        d_model: 8,
        d_kv: 3,
        n_heads: 4,
        d_ff: 12,
        num_buckets: 6,
        max_distance: 5,
        ..T5Config::tiny(FeedForward::GatedGelu) // smooth, for finite differences
    }
}

fn pairs() -> Vec<Pair> {
    vec![
        Pair {
            src: vec![3, 7, 4, 10, 7, 9],
            tgt: vec![4, 4, 8, EOS],
        },
        Pair {
            src: vec![5, 2],
            tgt: vec![6, 9, 3, 3, 2, EOS],
        },
        Pair {
            src: vec![8, 8, 3],
            tgt: vec![EOS],
        },
    ]
}

fn grads(model: &T5) -> Vec<ndarray::ArrayD<f32>> {
    let mut out = Vec::new();
    model.visit_params(&mut |_, p| out.push(p.grad.to_owned()));
    out
}

fn max_diff(a: &[ndarray::ArrayD<f32>], b: &[ndarray::ArrayD<f32>]) -> f32 {
    (a.iter().zip(b))
        .flat_map(|(x, y)| x.iter().zip(y).map(|(x, y)| (x - y).abs()))
        .fold(0.0, f32::max)
}

#[test]
fn a_batch_pads_and_labels() {
    let batch = Seq2SeqBatch::new(&pairs());
    assert_eq!(batch.src.dim(), (3, 6));
    assert_eq!(batch.src.row(1).to_vec(), [5, 2, PAD, PAD, PAD, PAD]);
    assert_eq!(batch.src_len, [6, 2, 3]);
    assert_eq!(batch.tgt_in.row(0).to_vec(), [PAD, 4, 4, 8, PAD, PAD]);
    assert_eq!(
        batch.labels.row(0).to_vec(),
        [Some(4), Some(4), Some(8), Some(EOS), None, None]
    );
    assert_eq!(
        batch.labels.row(2).to_vec(),
        [Some(EOS), None, None, None, None, None]
    );
    assert_eq!(batch.n_labels(), 4 + 6 + 1);
}

#[test]
fn padding_changes_nothing() {
    let mut model = T5::new(cfg(), &mut seeded_rng(40)).unwrap();
    let (src, tgt) = ([3, 7, 4], [PAD, 5, 6]);
    let padded = [3, 7, 4, PAD, PAD, PAD, PAD];
    let r = Array2::from_shape_fn((3, 11), |(i, j)| ((i * 11 + j) as f32 * 0.37).sin());
    model.zero_grad();
    let plain = model.forward(&src, &tgt).unwrap();
    model.backward(&r);
    let g_plain = grads(&model);
    model.zero_grad();
    let masked = model.forward_padded(&padded, 3, &tgt).unwrap();
    model.backward(&r);
    let diff = (&plain - &masked)
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    assert!(diff < 1e-6, "logits differ by {diff}");
    let g_diff = max_diff(&g_plain, &grads(&model));
    assert!(g_diff < 1e-6, "gradients differ by {g_diff}");
    // Without the mask the padding would be read: the test above is not vacuous.
    let unmasked = model.forward(&padded, &tgt).unwrap();
    let seen = (&plain - &unmasked)
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    assert!(
        seen > 1e-3,
        "padding read as tokens changes the logits ({seen})"
    );
}

#[test]
fn the_batch_loss_is_the_token_mean_of_the_rows() {
    let mut model = T5::new(cfg(), &mut seeded_rng(41)).unwrap();
    let all = pairs();
    model.zero_grad();
    let loss = batch_loss(&mut model, &Seq2SeqBatch::new(&all), true).unwrap();
    let g_batch = grads(&model);
    // Each row alone, unpadded, weighted by its share of the labels.
    let n: usize = all.iter().map(|p| p.tgt.len()).sum();
    let (mut sum, mut g_rows) = (0.0f32, None::<Vec<ndarray::ArrayD<f32>>>);
    for p in &all {
        model.zero_grad();
        let l = batch_loss(
            &mut model,
            &Seq2SeqBatch::new(std::slice::from_ref(p)),
            true,
        )
        .unwrap();
        let w = p.tgt.len() as f32 / n as f32;
        sum += l * w;
        let g: Vec<_> = grads(&model).into_iter().map(|g| g * w).collect();
        g_rows = Some(match g_rows {
            None => g,
            Some(acc) => acc.into_iter().zip(g).map(|(a, b)| a + b).collect(),
        });
    }
    assert!((loss - sum).abs() < 1e-5, "{loss} vs {sum}");
    let g_diff = max_diff(&g_batch, &g_rows.unwrap());
    assert!(g_diff < 1e-5, "gradients differ by {g_diff}");
}

/// Tier 1 for the padded path: the batch loss's gradient, every parameter, against
/// central differences, at the step and floor tests/t5_gradients.rs argues for.
#[test]
fn padded_batch_gradients_match_finite_differences() {
    let mut model = T5::new(cfg(), &mut seeded_rng(42)).unwrap();
    let batch = Seq2SeqBatch::new(&pairs());
    model.zero_grad();
    batch_loss(&mut model, &batch, true).unwrap();
    let check = GradCheck {
        eps: 5e-3,
        floor: 5e-2,
        ..GradCheck::default()
    };
    let reports =
        check.check_module(&mut model, |m| batch_loss(m, &batch, false).unwrap());
    assert_eq!(reports.len(), model.param_names().len());
    for (name, report) in reports {
        eprintln!("padded batch d{name}: {report}");
        report.assert_within(1e-2, &format!("padded batch: dL/d{name}"));
    }
}

#[test]
fn padded_inputs_that_make_no_sense_are_errors() {
    let mut model = T5::new(cfg(), &mut seeded_rng(43)).unwrap();
    assert_eq!(
        model.forward_padded(&[1, 2, PAD], 4, &[PAD]).unwrap_err(),
        T5Error::SourceLength { src_len: 4, s: 3 }
    );
    assert_eq!(
        model.forward_padded(&[PAD, PAD], 0, &[PAD]).unwrap_err(),
        T5Error::Empty { which: "source" }
    );
    let e = model.forward_padded(&[1, 2, 11], 2, &[PAD]).unwrap_err();
    assert!(e.to_string().contains("token id 11 at position 2"), "{e}");
}

#[test]
fn greedy_stops_at_eos_or_max_len() {
    let mut model = T5::new(cfg(), &mut seeded_rng(44)).unwrap();
    let out = greedy(&mut model, &[3, 4, 5], 6).unwrap();
    assert!(out.len() <= 6 && !out.contains(&EOS), "{out:?}");
    // Each token is the arg max given the ones before it.
    let mut prefix = vec![PAD];
    for &tok in &out {
        let logits = model.forward(&[3, 4, 5], &prefix).unwrap();
        let row = logits.row(prefix.len() - 1);
        let best = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(row[tok], best);
        prefix.push(tok);
    }
    assert!(greedy(&mut model, &[], 3).is_err());
}

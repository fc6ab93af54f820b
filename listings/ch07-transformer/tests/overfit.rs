//! Tier 4: dropout against overfitting, in seconds. A small model on 60 fixed sentences
//! memorises them without dropout, and its held-out loss climbs; with P_drop = 0.1 the
//! held-out loss ends lower. The numbers are pinned and included in the text.

use ch07_transformer::data::Task;
use ch07_transformer::overfit::{OverfitConfig, overfit_report, overfit_run};

#[test]
fn dropout_lowers_the_held_out_loss_of_a_model_that_overfits() {
    let (task, cfg) = (Task::default(), OverfitConfig::small());
    let plain = overfit_run(&task, &cfg, 0.0);
    let dropped = overfit_run(&task, &cfg, 0.1);
    let report = overfit_report(&cfg, &[(0.0, plain.clone()), (0.1, dropped.clone())]);
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("overfit_small", report);
    });
    let (end0, end1) = (plain.last().unwrap(), dropped.last().unwrap());
    // Without dropout: the training set is learnt by heart ...
    assert!(end0.train_loss < 0.01, "training loss {}", end0.train_loss);
    // ... while the held-out loss passes its minimum and climbs again: overfitting.
    let best = plain[1..]
        .iter()
        .map(|q| q.heldout_loss)
        .fold(f32::INFINITY, f32::min);
    assert!(
        end0.heldout_loss > best + 0.1,
        "held-out loss {} at the end, {best} at best",
        end0.heldout_loss
    );
    // With dropout the held-out loss ends lower.
    assert!(
        end1.heldout_loss < end0.heldout_loss - 0.1,
        "held-out loss with dropout {}, without {}",
        end1.heldout_loss,
        end0.heldout_loss
    );
}

//! Bad configs and bad inputs are errors that name the problem, never a panic.

use ch01_foundations::init::seeded_rng;
use ch10_encoder_decoder::t5::ffn::FeedForward;
use ch10_encoder_decoder::t5::model::{T5, T5Config, T5Error};

fn tiny() -> T5Config {
    T5Config::tiny(FeedForward::Relu)
}

#[test]
fn config_errors_name_the_field() {
    let zero = T5Config { d_kv: 0, ..tiny() };
    assert_eq!(
        zero.validate().unwrap_err(),
        T5Error::Zero { field: "d_kv" }
    );
    let few = T5Config {
        num_buckets: 3,
        ..tiny()
    };
    let e = few.validate().unwrap_err();
    assert_eq!(e, T5Error::FewBuckets(3));
    assert!(e.to_string().contains("num_buckets = 3"), "{e}");
    let near = T5Config {
        max_distance: 4,
        ..tiny()
    };
    let e = near.validate().unwrap_err();
    assert_eq!(
        e,
        T5Error::MaxDistance {
            max_distance: 4,
            half: 4
        }
    );
    assert!(e.to_string().contains("max_distance = 4"), "{e}");
    assert!(T5::new(near, &mut seeded_rng(0)).is_err());
    assert!(tiny().validate().is_ok());
}

#[test]
fn input_errors_name_the_sequence_and_position() {
    let mut model = T5::new(tiny(), &mut seeded_rng(0)).unwrap();
    assert_eq!(
        model.forward(&[], &[0]).unwrap_err(),
        T5Error::Empty { which: "source" }
    );
    assert_eq!(
        model.forward(&[1], &[]).unwrap_err(),
        T5Error::Empty { which: "target" }
    );
    let e = model.forward(&[1, 2], &[0, 40, 3]).unwrap_err();
    assert_eq!(
        e,
        T5Error::TokenOutOfRange {
            which: "target",
            position: 1,
            id: 40,
            vocab: 40
        }
    );
    assert_eq!(
        e.to_string(),
        "t5 input: token id 40 at position 1 of the target is out of range for vocab_size 40"
    );
    assert!(model.forward(&[1, 2], &[0, 39]).is_ok());
}

//! Beam search on decoder-only models: width 1 is greedy on the real SmolLM2, stop
//! strings finish a beam, and the token limit holds.

mod common;

use ch12_inference::beam::{BeamOptions, beam_search};
use common::{Script, model, tokenizer};

fn opts(beam: usize, max_tokens: usize) -> BeamOptions {
    BeamOptions {
        beam,
        alpha: 0.0,
        eos: tokenizer().special("<|im_end|>").unwrap(),
        stop_strings: vec![],
        max_tokens,
    }
}

#[test]
fn width_one_is_greedy_on_smollm2() {
    let (m, tok) = (model(), tokenizer());
    let prompt = tok.encode("The capital of France is");
    let (ids, text) = beam_search(m, tok, &prompt, &opts(1, 6));
    let greedy = m.greedy(&prompt, 6, Some(opts(1, 6).eos));
    assert_eq!(ids, greedy);
    assert_eq!(text.as_bytes(), tok.decode(&greedy).unwrap());
}

#[test]
fn a_stop_string_finishes_a_beam_and_the_text_stops_before_it() {
    let tok = tokenizer();
    let script = tok.encode("Yes.\nUser: more words here");
    let model = Script {
        prompt_len: 1,
        script,
        end: opts(1, 1).eos,
    };
    let o = BeamOptions {
        stop_strings: vec!["\nUser:".into()],
        ..opts(3, 50)
    };
    let (ids, text) = beam_search(&model, tok, &[0], &o);
    assert_eq!(text, "Yes.");
    let upto = String::from_utf8(tok.decode(&ids).unwrap()).unwrap();
    assert!(
        upto.ends_with("User:"),
        "{upto:?}: it went on past the stop string"
    );
}

#[test]
fn the_token_limit_holds() {
    let tok = tokenizer();
    let script = tok.encode("one two three four five six seven eight");
    let model = Script {
        prompt_len: 2,
        script,
        end: opts(1, 1).eos,
    };
    let (ids, _) = beam_search(&model, tok, &[0, 1], &opts(2, 4));
    assert_eq!(ids, tok.encode("one two three four"));
}

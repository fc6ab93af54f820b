//! The chat: the template turn by turn, the cache reused across turns (its logits equal
//! a fresh prefill's on the real SmolLM2), and the over-long policy on a tiny context.

mod common;

use ch09_decoder_only::exercises::{Role, chat_prompt};
use ch12_inference::chat::{Chat, ChatError, DEFAULT_SYSTEM};
use ch12_inference::sampling::{Sampler, SamplerConfig};
use ch12_inference::stopping::{CachedModel, StopReason};
use common::{Parrot, model, tokenizer};

fn greedy() -> Sampler {
    Sampler::new(SamplerConfig {
        temperature: 0.0,
        ..SamplerConfig::default()
    })
    .unwrap()
}

fn parrot() -> Parrot {
    let tok = tokenizer();
    let word = tok.encode("ok");
    assert_eq!(word.len(), 1);
    Parrot {
        word: word[0],
        eos: tok.special("<|im_end|>").unwrap(),
    }
}

#[test]
fn the_ids_are_the_template_and_only_new_ids_run() {
    let (p, tok) = (parrot(), tokenizer());
    let mut chat = Chat::new(&p, tok, DEFAULT_SYSTEM, 2048, 16).unwrap();
    let fresh = chat.add_user("Hello", |_| panic!("no notice")).unwrap();
    assert_eq!(fresh, chat.ids().len(), "the first turn runs everything");
    let g = chat.respond(&mut greedy(), |_| {}).unwrap();
    assert_eq!((g.text.as_str(), g.reason), ("ok", StopReason::Eos));
    let fresh = chat.add_user("Again", |_| panic!("no notice")).unwrap();
    // The cache stops before the reply's last id (<|im_end|>): that, "\n" and the new
    // turn are all that runs.
    let turn = tok.encode("\n<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\n");
    assert_eq!(fresh, 1 + turn.len());
    // The ids are exactly what the template renders for the whole conversation.
    let want = chat_prompt(
        &[
            (Role::System, DEFAULT_SYSTEM),
            (Role::User, "Hello"),
            (Role::Assistant, "ok"),
            (Role::User, "Again"),
        ],
        true,
    );
    assert_eq!(chat.ids(), tok.encode(&want).as_slice());
}

#[test]
fn an_over_long_conversation_drops_the_oldest_turns() {
    let (p, tok) = (parrot(), tokenizer());
    let system_len = tok
        .encode(&chat_prompt(&[(Role::System, DEFAULT_SYSTEM)], false))
        .len();
    // Room for the system prompt and about two exchanges.
    let context = system_len + 40;
    let mut chat = Chat::new(&p, tok, DEFAULT_SYSTEM, context, 4).unwrap();
    let mut notices = Vec::new();
    for i in 0..8 {
        chat.add_user(&format!("message number {i}"), |n| {
            notices.push(n.to_owned())
        })
        .unwrap();
        // The conversation leaves room for a whole reply.
        assert!(
            chat.ids().len() + 4 <= context,
            "turn {i}: {} ids",
            chat.ids().len()
        );
        chat.respond(&mut greedy(), |_| {}).unwrap();
        assert!(p.cached(chat.cache()) <= chat.ids().len());
    }
    assert!(!notices.is_empty(), "the context never filled");
    assert!(notices[0].contains("dropped the oldest"), "{}", notices[0]);
    // The system prompt is still first, the newest turn is still there, the oldest not.
    let text = String::from_utf8(tok.decode(chat.ids()).unwrap()).unwrap();
    assert!(text.starts_with(&format!("<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>")));
    assert!(text.contains("message number 7") && !text.contains("message number 0"));
    assert_eq!(
        chat.turns()[0].0,
        Role::User,
        "a kept conversation opens with a user turn"
    );
}

#[test]
fn a_message_that_cannot_fit_is_an_error_not_a_panic() {
    let (p, tok) = (parrot(), tokenizer());
    let mut chat = Chat::new(&p, tok, DEFAULT_SYSTEM, 40, 4).unwrap();
    let e = chat.add_user(&"word ".repeat(100), |_| {}).unwrap_err();
    assert!(
        matches!(e, ChatError::TurnTooLong { context: 40, .. }),
        "{e}"
    );
    assert!(chat.turns().is_empty(), "the failed turn left no trace");
}

/// The real SmolLM2: two turns through one cache; the second turn's logits from the
/// cache equal those of a fresh prefill of the whole conversation, to 1e-4 (f32 sums
/// in a different grouping: the cached run does two shorter passes).
#[test]
fn the_reused_cache_gives_a_fresh_prefills_logits() {
    let (m, tok) = (model(), tokenizer());
    let mut chat = Chat::new(m, tok, DEFAULT_SYSTEM, 2048, 6).unwrap();
    chat.add_user("Name a colour.", |_| {}).unwrap();
    chat.respond(&mut greedy(), |_| {}).unwrap();
    let fresh = chat.add_user("And a fruit?", |_| {}).unwrap();
    let ids = chat.ids();
    assert!(
        fresh < ids.len() / 2,
        "only the new turn runs: {fresh} of {}",
        ids.len()
    );
    let mut cache = chat.cache().clone();
    let cached = m.extend(&ids[ids.len() - fresh..], &mut cache);
    let full = m.extend(ids, &mut m.new_cache());
    let diff = (&cached - &full)
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    eprintln!("max |cached − fresh| logit = {diff:e}");
    assert!(diff < 1e-4, "cached vs fresh logits differ by {diff}");
}

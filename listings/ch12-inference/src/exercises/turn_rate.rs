//! Exercise: the speed of a whole chat turn, the wait for the first token included.

use crate::speed::{BreakEvenError, Speed};

// ANCHOR: turn_tok_s
/// Tokens a second over a whole reply of n_new tokens: the first arrives after ttft,
/// each later one after 1 / decode_tok_s, so the turn takes
/// ttft + (n_new - 1) / decode_tok_s seconds. Approaches the decode speed as n_new grows.
pub fn turn_tok_s(s: Speed, n_new: usize) -> Result<f64, BreakEvenError> {
    s.check("the side")?;
    if n_new == 0 {
        return Err(BreakEvenError::EmptyReply);
    }
    let seconds = s.ttft_ms / 1e3 + (n_new - 1) as f64 / s.decode_tok_s;
    Ok(n_new as f64 / seconds)
}
// ANCHOR_END: turn_tok_s

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_is_slower_than_decoding_and_approaches_it() {
        let s = Speed {
            ttft_ms: 500.0,
            decode_tok_s: 40.0,
        };
        // one token: just the wait for the first
        assert!((turn_tok_s(s, 1).unwrap() - 2.0).abs() < 1e-12);
        // 21 tokens: 0.5 s + 20 / 40 s = 1 s
        assert!((turn_tok_s(s, 21).unwrap() - 21.0).abs() < 1e-9);
        let long = turn_tok_s(s, 100_000).unwrap();
        assert!(long < 40.0 && long > 39.0, "{long}");
        assert_eq!(turn_tok_s(s, 0), Err(BreakEvenError::EmptyReply));
        let bad = Speed {
            ttft_ms: -1.0,
            decode_tok_s: 40.0,
        };
        assert_eq!(
            turn_tok_s(bad, 5),
            Err(BreakEvenError::NotASpeed("the side"))
        );
    }
}

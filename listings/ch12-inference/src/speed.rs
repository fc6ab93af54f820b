//! Speed against the references: reading a speed table. Two sides that each win one
//! phase (a faster prompt, a faster decoder) trade places at some reply length.

use thiserror::Error;

/// One side of a speed table: its time to the first token and its decode speed.
#[derive(Clone, Copy, Debug)]
pub struct Speed {
    pub ttft_ms: f64,
    pub decode_tok_s: f64,
}

impl Speed {
    /// An error naming the side unless TTFT is finite and ≥ 0 and the speed finite, > 0.
    pub fn check(&self, name: &'static str) -> Result<(), BreakEvenError> {
        let ok = self.ttft_ms.is_finite()
            && self.ttft_ms >= 0.0
            && self.decode_tok_s.is_finite()
            && self.decode_tok_s > 0.0;
        if ok {
            Ok(())
        } else {
            Err(BreakEvenError::NotASpeed(name))
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum BreakEvenError {
    /// A side's numbers cannot be times and speeds.
    #[error(
        "{0}: a time to first token must be finite and ≥ 0 ms, and a decode speed > 0"
    )]
    NotASpeed(&'static str),
    #[error("the two sides decode at the same speed ({0} tok/s): the gap never closes")]
    SameDecodeSpeed(f64),
    #[error("one side is at least as fast in both phases: it is ahead at every length")]
    NoCrossing,
    #[error("a reply of 0 tokens has no speed")]
    EmptyReply,
}

// ANCHOR: break_even
/// The number of tokens after the first, n, at which a and b take the same time:
/// ttft_a + n / rate_a = ttft_b + n / rate_b, so
/// n = (ttft_b - ttft_a) / (1/rate_a - 1/rate_b), with times in seconds. Beyond n the
/// faster decoder is ahead; below it the faster prefill is. An error if one side wins
/// both phases (no n ≥ 0), or if both decode alike.
pub fn break_even_tokens(a: Speed, b: Speed) -> Result<f64, BreakEvenError> {
    a.check("a")?;
    b.check("b")?;
    let per_token_gap = 1.0 / a.decode_tok_s - 1.0 / b.decode_tok_s; // seconds a token
    if per_token_gap == 0.0 {
        return Err(BreakEvenError::SameDecodeSpeed(a.decode_tok_s));
    }
    let n = (b.ttft_ms - a.ttft_ms) / 1e3 / per_token_gap;
    if n < 0.0 {
        return Err(BreakEvenError::NoCrossing);
    }
    Ok(n)
}
// ANCHOR_END: break_even

#[cfg(test)]
mod tests {
    use super::*;

    fn total_s(s: Speed, n: f64) -> f64 {
        s.ttft_ms / 1e3 + n / s.decode_tok_s
    }

    #[test]
    fn the_two_sides_take_the_same_time_at_the_break_even_length() {
        // a: quick prompt, slow decoding; b: slow prompt, quick decoding
        let a = Speed {
            ttft_ms: 500.0,
            decode_tok_s: 40.0,
        };
        let b = Speed {
            ttft_ms: 800.0,
            decode_tok_s: 100.0,
        };
        let n = break_even_tokens(a, b).unwrap();
        // 0.3 s of prefill gap / (1/40 - 1/100) s a token = 20 tokens
        assert!((n - 20.0).abs() < 1e-9, "{n}");
        assert!((total_s(a, n) - total_s(b, n)).abs() < 1e-12);
        assert!(total_s(a, n - 1.0) < total_s(b, n - 1.0));
        assert!(total_s(a, n + 1.0) > total_s(b, n + 1.0));
        // symmetric in the two sides
        assert!((break_even_tokens(b, a).unwrap() - n).abs() < 1e-9);
    }

    #[test]
    fn a_side_that_wins_both_phases_or_a_tie_in_decoding_is_an_error() {
        let a = Speed {
            ttft_ms: 500.0,
            decode_tok_s: 100.0,
        };
        let b = Speed {
            ttft_ms: 800.0,
            decode_tok_s: 40.0,
        };
        assert_eq!(break_even_tokens(a, b), Err(BreakEvenError::NoCrossing));
        let c = Speed {
            ttft_ms: 900.0,
            decode_tok_s: 100.0,
        };
        assert_eq!(
            break_even_tokens(a, c),
            Err(BreakEvenError::SameDecodeSpeed(100.0))
        );
        let bad = Speed {
            ttft_ms: f64::NAN,
            decode_tok_s: 1.0,
        };
        assert_eq!(
            break_even_tokens(bad, a),
            Err(BreakEvenError::NotASpeed("a"))
        );
        let bad = Speed {
            ttft_ms: 1.0,
            decode_tok_s: 0.0,
        };
        assert_eq!(
            break_even_tokens(a, bad),
            Err(BreakEvenError::NotASpeed("b"))
        );
    }
}

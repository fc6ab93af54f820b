//! What a decoding benchmark of SmolLM2 needs, in any weight format: the prompt (the
//! book's frozen Chapter 1 text), a timed greedy run with a KV cache, and the process's
//! peak memory. Chapter 9's `smollm2_bench` and Chapter 13's `quant_bench` share it.

use std::io;
use std::path::Path;
use std::time::Instant;

use ch01_foundations::probability::argmax;

use crate::llama::{Llama, Weight};
use crate::tokenizer::GgufTokenizer;

/// The first `n` ids of the book's frozen Chapter 1 text as `tok` encodes it; an error if
/// the text has fewer.
pub fn book_prompt(tok: &GgufTokenizer, n: usize) -> io::Result<Vec<u32>> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ch02-input/data/book-ch01.md");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        io::Error::new(e.kind(), format!("reading {}: {e}", path.display()))
    })?;
    let mut ids = tok.encode(&text);
    if ids.len() < n {
        let msg = format!("{}: {} tokens, fewer than {n}", path.display(), ids.len());
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    }
    ids.truncate(n);
    Ok(ids)
}

/// One greedy run from an empty cache: (prefill seconds, decode seconds, the new ids).
/// Prefill is the prompt through the model and the arg max of its last logits; decode is
/// `new_tokens` steps of one token each, never stopping at the end token, so every run
/// does the same work.
pub fn timed_greedy<W: Weight>(
    model: &Llama<W>,
    prompt: &[u32],
    new_tokens: usize,
) -> (f64, f64, Vec<u32>) {
    let mut cache = model.new_cache();
    let start = Instant::now();
    let h = model.hidden_cached(prompt, &mut cache);
    let mut next = argmax(model.next_logits(&h).iter().copied()) as u32;
    let prefill = start.elapsed().as_secs_f64();
    let mut new = vec![next];
    let start = Instant::now();
    for _ in 0..new_tokens {
        let h = model.hidden_cached(&[next], &mut cache);
        next = argmax(model.next_logits(&h).iter().copied()) as u32;
        new.push(next);
    }
    (prefill, start.elapsed().as_secs_f64(), new)
}

/// The peak resident set of this process (VmHWM in /proc/self/status), in MiB.
pub fn peak_rss_mib() -> io::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let line = status.lines().find(|l| l.starts_with("VmHWM:"));
    let kib = line
        .and_then(|l| l.split_whitespace().nth(1))
        .ok_or_else(|| bad("no VmHWM in /proc/self/status"))?;
    let kib: f64 = kib.parse().map_err(|_| bad("VmHWM is not a number"))?;
    Ok(kib / 1024.0)
}

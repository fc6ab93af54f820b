//! Word error rate (section "Transcribing speech"): both texts normalised the same way,
//! then the word-level edit distance divided by the number of spoken words.

use ch07_transformer::data::cardinal;

// ANCHOR: normalise (long: the whole normalisation in one place)
/// The words of `text` as they would be spoken, so that a transcript is not charged for
/// spelling: lowercase; a number in digits is read out ("42" → "forty two"), a point
/// between digits is read "point" ("42.17" → "forty two point seventeen"), "$" before a
/// number becomes "dollars" after it, "%" after one "percent"; hyphens split words;
/// every other character that is not a letter, a digit or an apostrophe is dropped.
pub fn normalise(text: &str) -> Vec<String> {
    let mut spaced = String::new();
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        let digit_at = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(char::is_ascii_digit)
        };
        match ch {
            '.' if digit_at(i.checked_sub(1)) && digit_at(Some(i + 1)) => {
                spaced.push_str(" point ")
            }
            '%' => spaced.push_str(" percent "),
            '$' => spaced.push_str(" $"),
            c if c.is_alphanumeric() || c == '\'' => spaced.push(c),
            _ => spaced.push(' '),
        }
        // Digits and letters written together ("80s") are two words.
        if let Some(&next) = chars.get(i + 1)
            && ch.is_ascii_digit() != next.is_ascii_digit()
            && ch.is_alphanumeric()
            && next.is_alphanumeric()
        {
            spaced.push(' ');
        }
    }
    let mut words = Vec::new();
    for token in spaced.split_whitespace() {
        let (dollars, token) = match token.strip_prefix('$') {
            Some(rest) => (true, rest),
            None => (false, token),
        };
        match token.parse::<u64>() {
            Ok(n) => words.extend(spoken(n).split(' ').map(str::to_owned)),
            Err(_) if !token.is_empty() => {
                words.push(token.trim_matches('\'').to_owned())
            }
            Err(_) => {}
        }
        if dollars {
            words.push("dollars".into());
        }
    }
    words.retain(|w| !w.is_empty());
    words
}
// ANCHOR_END: normalise

/// A whole number in words, the American way without "and": 342 → "three hundred forty two".
pub fn spoken(n: u64) -> String {
    const SCALES: [(u64, &str); 4] = [
        (1_000_000_000_000, "trillion"),
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ];
    for (scale, name) in SCALES {
        if n >= scale {
            let rest = n % scale;
            let head = format!("{} {name}", spoken(n / scale));
            return if rest == 0 {
                head
            } else {
                format!("{head} {}", spoken(rest))
            };
        }
    }
    // Below 100, Chapter 7's date words (n < 1000 here, so the casts are exact).
    let hundreds = cardinal((n / 100) as u32);
    match n {
        0 => "zero".to_owned(),
        1..100 => cardinal(n as u32),
        _ if n.is_multiple_of(100) => format!("{hundreds} hundred"),
        _ => format!("{hundreds} hundred {}", spoken(n % 100)),
    }
}

// ANCHOR: edits
/// The fewest substitutions, deletions and insertions that turn `reference` into
/// `hypothesis` (Levenshtein over words), one row of the table at a time.
pub fn word_edits(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut row = vec![i + 1; hypothesis.len() + 1];
        for (j, h) in hypothesis.iter().enumerate() {
            let substitute = prev[j] + usize::from(r != h);
            row[j + 1] = substitute.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[hypothesis.len()]
}

/// Word error rate: edits over the number of reference words, after [`normalise`].
/// Returns (edits, reference words).
pub fn wer(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalise(reference);
    (word_edits(&r, &normalise(hypothesis)), r.len())
}
// ANCHOR_END: edits

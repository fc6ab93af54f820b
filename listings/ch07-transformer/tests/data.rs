//! The date task: the words and the ISO form agree, the held-out set never reaches
//! training, batches pad and shift as teacher forcing needs, user text fails loudly.

use std::collections::HashSet;

use ch01_foundations::init::seeded_rng;
use ch07_transformer::data::{
    BOS, Batch, DataError, Date, EOS, PAD, Style, Task, days_in_month, pad_rows,
};
use ndarray::array;

fn date(year: u32, month: u32, day: u32) -> Date {
    Date { year, month, day }
}

#[test]
fn dates_in_words() {
    let cases = [
        (
            date(2004, 3, 23),
            Style::DayFirst,
            "the twenty third of march two thousand and four",
        ),
        (
            date(2004, 3, 23),
            Style::MonthFirst,
            "march the twenty third two thousand and four",
        ),
        (
            date(1990, 5, 1),
            Style::DayFirst,
            "the first of may nineteen ninety",
        ),
        (
            date(1905, 12, 31),
            Style::DayFirst,
            "the thirty first of december nineteen oh five",
        ),
        (
            date(1900, 1, 20),
            Style::MonthFirst,
            "january the twentieth nineteen hundred",
        ),
        (
            date(2000, 2, 29),
            Style::DayFirst,
            "the twenty ninth of february two thousand",
        ),
        (
            date(2019, 7, 30),
            Style::MonthFirst,
            "july the thirtieth twenty nineteen",
        ),
        (
            date(2099, 11, 12),
            Style::DayFirst,
            "the twelfth of november twenty ninety nine",
        ),
    ];
    for (d, style, words) in cases {
        assert_eq!(d.words(style), words);
    }
    assert_eq!(date(2004, 3, 23).iso(), "2004-03-23");
    assert_eq!(date(1905, 12, 1).iso(), "1905-12-01");
}

#[test]
fn calendar() {
    assert_eq!(days_in_month(2000, 2), 29); // divisible by 400
    assert_eq!(days_in_month(1900, 2), 28); // by 100 only
    assert_eq!(days_in_month(2024, 2), 29);
    assert_eq!(days_in_month(2023, 2), 28);
    assert_eq!(days_in_month(2023, 4), 30);
    assert_eq!(days_in_month(2023, 12), 31);
    let mut rng = seeded_rng(0);
    for _ in 0..2000 {
        let d = Date::random(&mut rng);
        assert!((1900..2100).contains(&d.year) && (1..=12).contains(&d.month));
        assert!(
            d.day >= 1 && d.day <= days_in_month(d.year, d.month),
            "{d:?}"
        );
    }
}

#[test]
fn examples_encode_and_decode() {
    let task = Task::default();
    let ex = task.example(date(2004, 3, 23), Style::DayFirst);
    assert_eq!(ex.src.len(), 9);
    assert_eq!(
        task.src_vocab.decode(&ex.src, " "),
        ex.date.words(Style::DayFirst)
    );
    assert_eq!(task.tgt_vocab.decode(&ex.tgt, ""), "2004-03-23");
    assert_eq!(ex.tgt.len(), Task::TGT_LEN);
    assert_eq!(task.tgt_vocab.len(), 14); // 3 specials, the dash, 10 digits
    for vocab in [&task.src_vocab, &task.tgt_vocab] {
        let specials: Vec<&str> = vocab.words()[..3].iter().map(String::as_str).collect();
        assert_eq!(specials, ["<pad>", "<bos>", "<eos>"]);
        assert_eq!(
            (vocab.id("<pad>"), vocab.id("<bos>"), vocab.id("<eos>")),
            (Some(PAD), Some(BOS), Some(EOS))
        );
    }
    let mut rng = seeded_rng(1);
    for _ in 0..2000 {
        let ex = task.random_example(&mut rng);
        assert!(ex.src.len() <= Task::MAX_SRC);
        assert_eq!(task.tgt_vocab.decode(&ex.tgt, ""), ex.date.iso());
    }
}

#[test]
fn user_text_errors_name_the_word() {
    let v = Task::default().src_vocab;
    assert_eq!(
        v.encode("The First of  MAY nineteen ninety", 16).unwrap(),
        v.encode("the first of may nineteen ninety", 16).unwrap()
    );
    assert_eq!(
        v.encode("the first of mayo nineteen ninety", 16),
        Err(DataError::UnknownWord {
            word: "mayo".into(),
            position: 3
        })
    );
    let err = v.encode("the 1st of may", 16).unwrap_err();
    assert!(err.to_string().contains("\"1st\""), "{err}");
    assert_eq!(
        v.encode("<pad> of may", 16),
        Err(DataError::UnknownWord {
            word: "<pad>".into(),
            position: 0
        })
    );
    assert_eq!(v.encode("  ", 16), Err(DataError::Empty));
    assert_eq!(
        v.encode("of of of", 2),
        Err(DataError::TooLong { len: 3, max: 2 })
    );
}

#[test]
fn heldout_is_disjoint_from_training() {
    let task = Task::default();
    let mut rng = seeded_rng(2);
    let (heldout, stream) = task.split(500, &mut rng);
    let held: HashSet<(Date, Style)> =
        heldout.iter().map(|e| (e.date, e.style)).collect();
    assert_eq!(held.len(), 500, "held-out examples are distinct");
    assert!(heldout.iter().all(|e| stream.is_heldout(e)));
    for _ in 0..200 {
        for ex in stream.batch(1000, &mut rng) {
            assert!(!held.contains(&(ex.date, ex.style)), "{:?} leaked", ex.date);
        }
    }
}

#[test]
fn batches_respect_the_token_budget() {
    let task = Task::default();
    let (_, stream) = task.split(10, &mut seeded_rng(3));
    let mut rng = seeded_rng(4);
    for budget in [100, 400, 1600] {
        let examples = stream.batch(budget, &mut rng);
        let b = Batch::new(&examples);
        let padded = b.src.len() + b.tgt_in.len();
        assert!(padded <= budget, "{padded} > {budget}");
        assert!(
            padded + b.src.ncols() + b.tgt_in.ncols() > budget - 20,
            "batch too small"
        );
    }
}

#[test]
fn teacher_forcing_batch_pads_and_shifts() {
    let task = Task::default();
    let a = task.example(date(1990, 5, 1), Style::DayFirst); // 6 source words
    let b = task.example(date(2004, 3, 23), Style::DayFirst); // 9
    let batch = Batch::new(&[a.clone(), b.clone()]);
    assert_eq!(batch.src.dim(), (2, 9));
    assert_eq!(batch.src.row(0).to_vec()[6..], [PAD; 3]);
    assert_eq!(batch.src.row(1).to_vec(), b.src);
    // tgt_out = y EOS; tgt_in = BOS y: the same tokens one step later
    let mut out = a.tgt.clone();
    out.push(EOS);
    assert_eq!(batch.tgt_out.row(0).to_vec(), out);
    assert_eq!(batch.tgt_in[[0, 0]], BOS);
    assert_eq!(batch.tgt_in.row(0).to_vec()[1..], a.tgt[..]);
    assert_eq!(batch.n_tokens(), 2 * (Task::TGT_LEN + 1));
    assert_eq!(pad_rows(&[&[5, 6], &[7]]), array![[5, 6], [7, PAD]]);
}

/// What the section "A translation task" shows: a few training pairs, the vocabularies
/// and one padded batch.
#[test]
fn snapshot_task() {
    let task = Task::default();
    let (heldout, stream) = task.split(1000, &mut seeded_rng(8)); // as in the run
    let mut rng = seeded_rng(100);
    let mut text = String::new();
    for _ in 0..8 {
        let ex = stream.next(&mut rng);
        let src = task.src_vocab.decode(&ex.src, " ");
        text += &format!("{src:<56} -> {}\n", task.tgt_vocab.decode(&ex.tgt, ""));
    }
    text += &format!(
        "\nsource vocabulary: {} words (3 special)\ntarget vocabulary: {:?}\n",
        task.src_vocab.len(),
        task.tgt_vocab.words()
    );
    text += &format!(
        "held-out: {} sentences; the training stream skips them\n",
        heldout.len()
    );
    let examples = stream.batch(60, &mut rng);
    let batch = Batch::new(&examples);
    text += &format!(
        "\na batch of at most 60 padded tokens: {} sentences\n\
         src [B, S] = {:?}\n{}\n\
         tgt_in [B, T] = {:?}\n{}\n\
         tgt_out [B, T] = {:?}\n{}\n",
        examples.len(),
        batch.src.shape(),
        batch.src,
        batch.tgt_in.shape(),
        batch.tgt_in,
        batch.tgt_out.shape(),
        batch.tgt_out
    );
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("task", text);
    });
}

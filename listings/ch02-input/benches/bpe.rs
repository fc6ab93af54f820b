//! Encode throughput and training time on the chapter's corpus fixture.
//!
//! ```sh
//! cargo bench -p ch02-input --bench bpe
//! ```

use std::hint::black_box;

use ch02_input::bpe::reference::train_naive;
use ch02_input::bpe::train;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const CORPUS: &[u8] = ch02_input::corpus::BOOK_CH01.as_bytes();

fn encode(c: &mut Criterion) {
    let bpe = train(CORPUS, 1000).expect("vocab >= 256").bpe();
    let mut g = c.benchmark_group("bpe_encode");
    g.throughput(Throughput::Bytes(CORPUS.len() as u64));
    g.bench_function("encode_ordinary/corpus", |b| {
        b.iter(|| bpe.encode_ordinary(black_box(CORPUS)))
    });
    g.finish();
}

fn training(c: &mut Criterion) {
    let mut g = c.benchmark_group("bpe_train");
    g.sample_size(10);
    g.bench_function("incremental/vocab1000", |b| {
        b.iter(|| train(black_box(CORPUS), 1000))
    });
    g.bench_function("naive/vocab1000", |b| {
        b.iter(|| train_naive(black_box(CORPUS), 1000))
    });
    g.finish();
}

criterion_group!(benches, encode, training);
criterion_main!(benches);

//! Time to understand one corpus message. Each iteration reads the next message of the
//! labelled corpus (all three languages, cycling), so the figure is a per-message average.
#![allow(clippy::unwrap_used)]

#[path = "../tests/corpus/mod.rs"]
mod corpus;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lyo_domain::understanding::understand;

fn per_message(c: &mut Criterion) {
    let cases: Vec<_> = corpus::load()
        .into_iter()
        .map(|case| (corpus::context(&case), case.text))
        .collect();
    let mut next = 0;
    c.bench_function("understanding/corpus_message", |b| {
        b.iter(|| {
            let (ctx, text) = &cases[next % cases.len()];
            next += 1;
            understand(black_box(text), ctx)
        })
    });
}

criterion_group!(benches, per_message);
criterion_main!(benches);

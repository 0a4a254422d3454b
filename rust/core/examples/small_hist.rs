//! Where the fixed cost of a small histogram goes in the core, part by part, for 16, 1,000
//! and 10,000 normally distributed `f32` values with the default bins: computing the
//! histogram (`histogram`: the scan, torch's layout), making its `Summary.Value`
//! (`to_value`) and encoding the whole `Event` (prost). Best of N calls each, one thread:
//! `cargo run --release --example small_hist -p ferroboard-core [N]`. From Python,
//! `histogram_event` adds the binding's work (the array borrowed, the GIL released, the
//! bytes object) and `add_histogram` the input checks and the hand-off to the writer
//! (BENCHMARKS.md, session 17).
mod common;

use ferroboard_core::summary::histogram::{histogram, Bins};
use ferroboard_core::summary::{summary_event, Step, WallTime};
use prost::Message;
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(20_000, |s| s.parse().expect("N"));
    assert!(n > 0, "N: expected at least one call");
    for len in [16, 1_000, 10_000] {
        let values = common::normal_values(len);
        let h = histogram(&values, Bins::Default, None).expect("histogram");
        let compute = common::best_of(n, || {
            histogram(black_box(&values), Bins::Default, None)
                .expect("histogram")
                .bucket
                .len()
        });
        let to_value = common::best_of(n, || h.to_value("h".into()).encoded_len());
        let event = summary_event(WallTime(1.0), Step(1), vec![h.to_value("h".into())]);
        let encode = common::best_of(n, || event.encode_to_vec().len());
        println!(
            "{len:>6} values: histogram {:.2} us, to_value {:.2} us, encode {:.2} us \
             ({} buckets, {} bytes)",
            compute * 1e6,
            to_value * 1e6,
            encode * 1e6,
            h.bucket.len(),
            event.encoded_len()
        );
    }
}

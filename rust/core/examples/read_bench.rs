//! Times the reader's phases on one logdir or file: `cargo run --release --example read_bench PATH`.
use std::fs::File;
use std::time::Instant;

use ferroboard_core::format::record::{Frame, RecordReader};
use ferroboard_core::reader::{self, decode, Kind, KindSet, ReadOptions};

fn main() {
    let path = std::env::args().nth(1).expect("PATH");
    let files = reader::discovery::discover(path.as_ref()).expect("discover");
    let only: Option<String> = std::env::args().nth(2);
    for check in [true, false] {
        if only.is_some() {
            break;
        }
        let t = Instant::now();
        let mut n = 0u64;
        let mut vals = 0u64;
        for f in &files {
            let mut r = RecordReader::new(File::open(&f.path).unwrap());
            r.set_check_crc(check);
            while let Ok(Frame::Record { payload, .. }) = r.read_next() {
                n += 1;
                let ev = decode::scan_event(payload).unwrap();
                if let decode::WhatView::Summary(s) = ev.what {
                    vals += decode::summary_values(s).count() as u64;
                }
            }
        }
        println!(
            "framing+scan crc={check}: {n} records {vals} values in {:?}",
            t.elapsed()
        );
    }
    for (name, opts) in [
        ("all", ReadOptions::default()),
        (
            "scalars",
            ReadOptions {
                kinds: KindSet::of(&[Kind::Scalar]),
                ..Default::default()
            },
        ),
        (
            "2 tags",
            ReadOptions {
                kinds: KindSet::of(&[Kind::Scalar]),
                tags: Some(["metric/0".to_owned(), "metric/1".to_owned()].into()),
                ..Default::default()
            },
        ),
    ] {
        for _ in 0..3 {
            let t = Instant::now();
            let out = reader::read(path.as_ref(), opts.clone()).unwrap();
            println!(
                "read {name}: {} scalars in {:?}",
                out.scalars.len(),
                t.elapsed()
            );
        }
    }
}

//! Times the reader on PATH with several options, interleaved, best of N each (for profiling
//! and A/B checks): `cargo run --release --example read_loop PATH N [all|nocrc|2tags|0tags]...`.
use ferroboard_core::reader::{self, Kind, KindSet, ReadOptions};
use std::time::Instant;

fn options(name: &str) -> ReadOptions {
    ReadOptions {
        kinds: KindSet::of(&[Kind::Scalar]),
        check_crc: name != "nocrc",
        tags: match name {
            "2tags" => Some(["metric/0".to_owned(), "metric/1".to_owned()].into()),
            "0tags" => Some(["none".to_owned()].into()),
            _ => None,
        },
        ..Default::default()
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("PATH");
    let n: usize = args.next().map_or(10, |s| s.parse().expect("N"));
    let mut names: Vec<String> = args.collect();
    if names.is_empty() {
        names.push("all".into());
    }
    let mut best = vec![f64::INFINITY; names.len()];
    for _ in 0..n {
        for (i, name) in names.iter().enumerate() {
            let t = Instant::now();
            let out = reader::read(path.as_ref(), options(name)).expect("read");
            std::hint::black_box(&out);
            best[i] = best[i].min(t.elapsed().as_secs_f64());
        }
    }
    for (name, b) in names.iter().zip(best) {
        print!("{name} {:.1} ms  ", b * 1e3);
    }
    println!();
}

//! Times the reader on PATH with several options, interleaved, best of N each (for profiling
//! and A/B checks): `cargo run --release --example read_loop PATH N [all|nocrc|2tags|0tags|
//! 1thread|nosplit]...`. `1thread` is `all` on a pool of one thread, `nosplit` is `all` with
//! no file split between threads. Each case also prints the process CPU time of its best read
//! and its critical path: the most CPU time any one pool thread spent in it (a thread that
//! waits for another spins or sleeps, so this estimates the read's wall time on an idle
//! machine, which a shared machine cannot show).
use ferroboard_core::reader::{self, Kind, KindSet, ReadOptions, SplitOptions};
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
        split: if name == "nosplit" {
            SplitOptions {
                min_part: u64::MAX,
                ..Default::default()
            }
        } else {
            SplitOptions::default()
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
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let all = rayon::ThreadPoolBuilder::new().build().expect("pool");
    let mut best = vec![(f64::INFINITY, 0.0); names.len()];
    let mut critical = vec![f64::INFINITY; names.len()];
    for _ in 0..n {
        for (i, name) in names.iter().enumerate() {
            let pool = if name == "1thread" { &one } else { &all };
            let before = pool.broadcast(|_| thread_cpu_seconds());
            let (t, c) = (Instant::now(), cpu_seconds());
            let out = pool.install(|| reader::read(path.as_ref(), options(name)).expect("read"));
            let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
            let after = pool.broadcast(|_| thread_cpu_seconds());
            std::hint::black_box(&out);
            if wall < best[i].0 {
                best[i] = (wall, cpu);
            }
            let path = after.iter().zip(&before).map(|(a, b)| a - b);
            critical[i] = critical[i].min(path.fold(0.0, f64::max));
        }
    }
    for ((name, (wall, cpu)), crit) in names.iter().zip(best).zip(critical) {
        print!(
            "{name} {:.1} ms (cpu {:.1} ms, critical path {:.1} ms)  ",
            wall * 1e3,
            cpu * 1e3,
            crit * 1e3
        );
    }
    println!();
}

/// CPU time of the calling thread so far.
fn thread_cpu_seconds() -> f64 {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of this process so far (every thread, user and system).
fn cpu_seconds() -> f64 {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock(id: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a timespec we own.
    unsafe { libc::clock_gettime(id, &raw mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

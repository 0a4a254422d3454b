//! Fuzzing the record reader and the event decoder with hostile bytes (proptest; the toolchain
//! is stable, so no libFuzzer). Properties, for every input:
//!
//! * no panic, and every loop ends: the reader makes progress or stops;
//! * no large allocation: a counting global allocator checks that no single allocation exceeds
//!   a bound proportional to the input (a length field claiming gigabytes allocates nothing);
//! * records before a corruption are still read exactly as written.
//!
//! `PROPTEST_CASES=100000 cargo test --release --test fuzz_records` runs a longer campaign.
//! Inputs that ever failed live in `tests/data/regressions/` (run by `regressions_never_panic`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

use ferroboard_core::format::record::{encode_record, Frame, RecordParser, RecordReader};
use ferroboard_core::proto::{summary, Event, HistogramProto, TensorProto};
use ferroboard_core::reader::{decode, tensor, ReadOptions};
use ferroboard_core::summary::{self as event, Step, WallTime};
use ferroboard_core::MaskedCrc;
use proptest::prelude::*;
use prost::Message;

/// Tracks, per thread, the largest single allocation while armed.
struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the thread-locals may already be gone while a thread exits.
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

// SAFETY: forwards every call unchanged to the system allocator; only records sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result with the largest single allocation it made.
fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|l| l.set(0));
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (r, LARGEST.with(std::cell::Cell::get))
}

/// The reader's first read buffer is 64 KiB; beyond that, memory follows the input.
fn allocation_bound(input_len: usize) -> usize {
    (1 << 20) + 4 * input_len
}

#[derive(Debug, Default)]
struct Outcome {
    payloads: Vec<Vec<u8>>,
    decoded: usize,
    corrupt: usize,
    framing_error: bool,
}

/// Reads every record of `bytes` and decodes each payload as an `Event`, as the Python
/// iterator does.
fn read_all(bytes: &[u8]) -> Outcome {
    let mut out = Outcome::default();
    let mut r = RecordReader::new(bytes);
    // Each step consumes at least 16 bytes or ends: more steps than this would be a hang.
    for _ in 0..bytes.len() / 16 + 2 {
        match r.read_next() {
            Ok(Frame::Record { payload, .. }) => {
                if Event::decode(payload).is_ok() {
                    out.decoded += 1;
                }
                out.payloads.push(payload.to_vec());
            }
            Ok(Frame::BadDataCrc { .. }) => out.corrupt += 1,
            Ok(Frame::Incomplete { .. }) => return out,
            Err(_) => {
                out.framing_error = true;
                return out;
            }
        }
    }
    panic!(
        "the reader did not finish within {} steps",
        bytes.len() / 16 + 2
    );
}

fn check(bytes: &[u8]) -> Outcome {
    let (out, largest) = largest_allocation(|| read_all(bytes));
    assert!(
        largest <= allocation_bound(bytes.len()),
        "allocated {largest} bytes for a {}-byte input",
        bytes.len()
    );
    out
}

fn header(len: u64) -> Vec<u8> {
    let len = len.to_le_bytes();
    let mut h = len.to_vec();
    h.extend_from_slice(&MaskedCrc::compute(&len).to_le_bytes());
    h
}

fn any_event() -> impl Strategy<Value = Event> {
    let tag = "[a-z/]{0,12}";
    let value = prop_oneof![
        (tag, any::<f64>()).prop_map(|(t, v)| event::scalar_simple(t, v)),
        (tag, any::<f64>(), any::<bool>()).prop_map(|(t, v, d)| event::scalar_tensor(t, v, d)),
        (tag, ".{0,64}").prop_map(|(t, s)| event::text(&t, &s)),
        (tag, proptest::collection::vec(any::<f64>(), 0..40)).prop_map(|(t, b)| {
            summary::Value {
                tag: t,
                value: Some(summary::value::Value::Histo(HistogramProto {
                    min: -1.0,
                    max: 1.0,
                    num: b.len() as f64,
                    sum: 0.0,
                    sum_squares: 0.0,
                    bucket_limit: b.clone(),
                    bucket: b,
                })),
                ..Default::default()
            }
        }),
        (tag, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(t, c)| summary::Value {
            tag: t,
            value: Some(summary::value::Value::Tensor(TensorProto {
                dtype: 4,
                tensor_shape: Some(event::shape(&[c.len() as i64])),
                tensor_content: c,
                ..Default::default()
            })),
            ..Default::default()
        }),
    ];
    (
        any::<f64>(),
        any::<i64>(),
        proptest::collection::vec(value, 0..4),
    )
        .prop_map(|(w, s, values)| event::summary_event(WallTime(w), Step(s), values))
}

fn valid_file(events: &[Event]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    encode_record(
        &mut bytes,
        &event::file_header(WallTime(1.0)).encode_to_vec(),
    );
    ends.push(bytes.len());
    for e in events {
        encode_record(&mut bytes, &e.encode_to_vec());
        ends.push(bytes.len());
    }
    (bytes, ends)
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    /// A valid-CRC length field claiming `len` bytes, written over the bytes at the position.
    HugeLength(usize, u64),
}

fn any_mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        (pos, 1u8..=255).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (pos, any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        pos.prop_map(Mutation::Truncate),
        (pos, proptest::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (pos, 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (
            pos,
            prop_oneof![
                Just(u64::MAX),
                Just(1u64 << 40),
                Just(1u64 << 31),
                any::<u64>()
            ]
        )
            .prop_map(|(p, n)| Mutation::HugeLength(p, n)),
    ]
}

/// Applies `m`; returns the first byte offset it changed.
fn mutate(bytes: &mut Vec<u8>, m: &Mutation) -> usize {
    let n = bytes.len().max(1);
    match m {
        Mutation::Flip(p, b) if !bytes.is_empty() => {
            bytes[p % n] ^= b;
            p % n
        }
        Mutation::Set(p, b) if !bytes.is_empty() => {
            let old = bytes[p % n];
            bytes[p % n] = *b;
            if old == *b {
                usize::MAX
            } else {
                p % n
            }
        }
        Mutation::Truncate(p) => {
            let at = p % n;
            bytes.truncate(at);
            at
        }
        Mutation::Insert(p, b) => {
            let at = p % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
            at
        }
        Mutation::Delete(p, k) if !bytes.is_empty() => {
            let at = p % n;
            let end = (at + k).min(bytes.len());
            bytes.drain(at..end);
            at
        }
        Mutation::HugeLength(p, len) => {
            let at = p % (bytes.len() + 1);
            let h = header(*len);
            let end = (at + h.len()).min(bytes.len());
            bytes.splice(at..end, h);
            at
        }
        _ => usize::MAX,
    }
}

// Encoders for hand-made protobuf bytes.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(field: u32, wire: u8, out: &mut Vec<u8>) {
    varint((u64::from(field) << 3) | u64::from(wire), out);
}

/// Random protobuf-shaped bytes: fields of every wire type (including groups and the invalid
/// types 6 and 7), lengths that lie, varints cut short, nested messages.
fn any_protobuf() -> impl Strategy<Value = Vec<u8>> {
    let leaf = proptest::collection::vec(
        (
            1u32..20,
            0u8..8,
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..16),
        ),
        0..12,
    )
    .prop_map(|fields| {
        let mut out = Vec::new();
        for (field, wire, v, bytes) in fields {
            key(field, wire, &mut out);
            match wire {
                0 => varint(v, &mut out),
                1 => out.extend_from_slice(&v.to_le_bytes()),
                2 => {
                    // A length that is right, or lies (too long, absurd).
                    let len = match v % 4 {
                        0 | 1 => bytes.len() as u64,
                        2 => bytes.len() as u64 + (v >> 8) % 100,
                        _ => v,
                    };
                    varint(len, &mut out);
                    out.extend_from_slice(&bytes);
                }
                5 => out.extend_from_slice(&(v as u32).to_le_bytes()),
                _ => out.extend_from_slice(&bytes),
            }
        }
        out
    });
    leaf.prop_recursive(6, 4096, 4, |inner| {
        (
            proptest::collection::vec((1u32..12, inner), 1..4),
            any::<bool>(),
        )
            .prop_map(|(children, truncate)| {
                let mut out = Vec::new();
                for (field, child) in children {
                    key(field, 2, &mut out);
                    varint(child.len() as u64, &mut out);
                    out.extend_from_slice(&child);
                }
                if truncate {
                    // A varint cut short at the end.
                    out.push(0xff);
                }
                out
            })
    })
}

/// Runs every decoder of the bulk reader over `payload` (an `Event`), and over the summary
/// values, tensors and plugin metadata it finds inside.
fn bulk_decode(payload: &[u8]) {
    // Every length-delimited field at any depth (up to 4) is tried as each message kind.
    fn walk(b: &[u8], depth: u32) {
        if depth == 0 {
            return;
        }
        for v in decode::summary_values(b).take(64).flatten() {
            let _ = v;
        }
        for f in decode::Fields::new(b).take(64) {
            let Ok((_, w)) = f else { break };
            if let decode::Wire::Bytes(inner) = w {
                let _ = decode::scan_value(inner);
                let _ = decode::plugin_of(inner);
                let _ = decode::tensor_scalar(inner);
                let _ = tensor::decode_tensor(inner).map(|t| t.to_f64().len());
                let _ = tensor::decode_histogram(inner);
                walk(inner, depth - 1);
            }
        }
    }
    let _ = decode::simple_scalar_event(payload);
    let _ = decode::scan_event(payload);
    {
        let b = payload;
        let _ = decode::scan_value(b);
        let _ = decode::plugin_of(b);
        let _ = decode::tensor_scalar(b);
        let _ = tensor::decode_tensor(b).map(|t| (t.num_elements(), t.to_f64().len()));
        let _ = tensor::decode_histogram(b);
        let _ = tensor::decode_image(b);
        let _ = tensor::decode_audio(b);
    }
    walk(payload, 4);
}

/// The bulk reader's decoders may expand a tensor whose shape asks for more elements than it
/// gives (TensorFlow's `make_ndarray` semantics), up to a cap; beyond the input, that is all.
fn bulk_allocation_bound(input_len: usize) -> usize {
    allocation_bound(input_len) + (64 << 20)
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(60_000))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_prefix(
        events in proptest::collection::vec(any_event(), 0..6),
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let (mut bytes, _) = valid_file(&events);
        bytes.extend_from_slice(&tail);
        let out = check(&bytes);
        // Every record of the valid prefix is read, as written.
        prop_assert!(out.payloads.len() > events.len());
        for (p, e) in out.payloads[1..=events.len()].iter().zip(&events) {
            prop_assert_eq!(p, &e.encode_to_vec());
        }
    }

    #[test]
    fn mutated_valid_files(
        events in proptest::collection::vec(any_event(), 1..8),
        mutations in proptest::collection::vec(any_mutation(), 1..4),
    ) {
        let (mut bytes, ends) = valid_file(&events);
        let originals: Vec<Vec<u8>> = std::iter::once(event::file_header(WallTime(1.0)))
            .chain(events.iter().cloned())
            .map(|e| e.encode_to_vec())
            .collect();
        let first_change = mutations.iter().map(|m| mutate(&mut bytes, m)).min().unwrap();
        let out = check(&bytes);
        // Records wholly before the first change come back exactly as written, in order.
        let intact = ends.iter().take_while(|&&end| end <= first_change).count();
        prop_assert!(out.payloads.len() >= intact);
        prop_assert_eq!(&out.payloads[..intact], &originals[..intact]);
    }

    #[test]
    fn huge_claimed_lengths(
        len in prop_oneof![Just(u64::MAX), Just(u64::MAX - 15), (1u64 << 30)..u64::MAX],
        tail in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut bytes = header(len);
        bytes.extend_from_slice(&tail);
        let out = check(&bytes);
        prop_assert!(out.payloads.is_empty());
    }

    #[test]
    fn hostile_event_payloads(payload in any_protobuf()) {
        // Framed correctly, so every payload reaches the event decoder.
        let mut bytes = Vec::new();
        encode_record(&mut bytes, &payload);
        let out = check(&bytes);
        prop_assert_eq!(out.payloads.len(), 1);
        let ((), largest) = largest_allocation(|| {
            let _ = Event::decode(&payload[..]);
            let _ = summary::Value::decode(&payload[..]);
            let _ = TensorProto::decode(&payload[..]);
        });
        prop_assert!(largest <= allocation_bound(payload.len()));
    }

    #[test]
    fn chunked_parsing_agrees_with_whole_reads(
        events in proptest::collection::vec(any_event(), 0..6),
        mutation in any_mutation(),
        chunks in proptest::collection::vec(1usize..97, 1..8),
    ) {
        let (mut bytes, _) = valid_file(&events);
        mutate(&mut bytes, &mutation);
        let whole = check(&bytes);
        let mut parser = RecordParser::new();
        let mut got = Vec::new();
        let mut corrupt = 0;
        let mut framing_error = false;
        let (mut pos, mut i) = (0, 0);
        'feed: while pos < bytes.len() {
            let n = chunks[i % chunks.len()].min(bytes.len() - pos);
            i += 1;
            parser.feed(&bytes[pos..pos + n]);
            pos += n;
            loop {
                match parser.next_frame() {
                    Ok(Frame::Record { payload, .. }) => got.push(payload.to_vec()),
                    Ok(Frame::BadDataCrc { .. }) => corrupt += 1,
                    Ok(Frame::Incomplete { .. }) => break,
                    Err(_) => {
                        framing_error = true;
                        break 'feed;
                    }
                }
            }
        }
        prop_assert_eq!(got, whole.payloads);
        prop_assert_eq!(corrupt, whole.corrupt);
        prop_assert_eq!(framing_error, whole.framing_error);
    }
}

proptest! {
    #![proptest_config(cases(60_000))]

    #[test]
    fn bulk_decoders_on_hostile_payloads(payload in any_protobuf()) {
        let ((), largest) = largest_allocation(|| bulk_decode(&payload));
        prop_assert!(largest <= bulk_allocation_bound(payload.len()), "{largest}");
    }

    #[test]
    fn bulk_decoders_on_random_bytes(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let ((), largest) = largest_allocation(|| bulk_decode(&payload));
        prop_assert!(largest <= bulk_allocation_bound(payload.len()), "{largest}");
    }

    #[test]
    fn bulk_decoders_on_mutated_events(
        event in any_event(),
        mutation in any_mutation(),
    ) {
        let mut payload = event.encode_to_vec();
        mutate(&mut payload, &mutation);
        let ((), largest) = largest_allocation(|| bulk_decode(&payload));
        prop_assert!(largest <= bulk_allocation_bound(payload.len()), "{largest}");
    }
}

proptest! {
    #![proptest_config(cases(1_500))]

    /// The whole bulk reader (discovery, parallel decoding, every kind) on a mutated file, in
    /// lenient and strict mode: an error or a result, never a panic.
    #[test]
    fn bulk_reader_on_mutated_files(
        events in proptest::collection::vec(any_event(), 1..6),
        mutations in proptest::collection::vec(any_mutation(), 0..3),
        hostile in proptest::option::of(any_protobuf()),
    ) {
        let (mut bytes, _) = valid_file(&events);
        if let Some(p) = hostile {
            encode_record(&mut bytes, &p);
        }
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.out.tfevents.1.host.1.0");
        std::fs::write(&path, &bytes).unwrap();
        for strict in [false, true] {
            let opts = ReadOptions { strict, purge_restarts: !strict, ..ReadOptions::default() };
            let _ = ferroboard_core::reader::read(dir.path(), opts);
        }
    }
}

/// `TensorProto{dtype: DT_FLOAT, tensor_shape: [dim, dim], float_val: [1.0]}`
fn tensor_proto(dim: u64) -> Vec<u8> {
    let mut t = Vec::new();
    key(1, 0, &mut t);
    varint(1, &mut t);
    let mut dims = Vec::new();
    for _ in 0..2 {
        let mut d = Vec::new();
        key(1, 0, &mut d);
        varint(dim, &mut d);
        key(2, 2, &mut dims);
        varint(d.len() as u64, &mut dims);
        dims.extend_from_slice(&d);
    }
    key(2, 2, &mut t);
    varint(dims.len() as u64, &mut t);
    t.extend_from_slice(&dims);
    key(5, 5, &mut t);
    t.extend_from_slice(&1.0f32.to_le_bytes());
    t
}

#[test]
fn a_tensor_shape_claiming_exabytes_allocates_nothing_large() {
    // 2^40 x 2^40 overflows; 2^20 x 2^20 = 2^40 elements from one value given.
    for (dim, overflow) in [(1u64 << 40, true), (1u64 << 20, false)] {
        let t = tensor_proto(dim);
        for dtype in [1u8, 7, 9, 14] {
            let mut t = t.clone();
            t[1] = dtype;
            let (r, largest) = largest_allocation(|| tensor::decode_tensor(&t));
            assert!(
                largest <= bulk_allocation_bound(t.len()),
                "dtype {dtype}: {largest}"
            );
            assert!(r.is_err(), "dtype {dtype}, overflow {overflow}: refused");
        }
    }
    // A modest shape is still filled as TensorFlow's make_ndarray fills it.
    let t = tensor::decode_tensor(&tensor_proto(1000)).unwrap();
    assert_eq!(t.to_f64(), vec![1.0; 1_000_000]);
}

#[test]
fn the_allocation_counter_sees_large_allocations() {
    let (v, largest) = largest_allocation(|| vec![0u8; 10 << 20]);
    assert_eq!(v.len(), 10 << 20);
    assert!(largest >= 10 << 20);
    assert!(largest > allocation_bound(1000));
}

#[test]
fn deeply_nested_groups_and_messages_are_errors_not_stack_overflows() {
    // 100,000 nested start-groups in an unknown field of Event.
    let mut groups = Vec::new();
    for _ in 0..100_000 {
        key(99, 3, &mut groups);
    }
    assert!(Event::decode(&groups[..]).is_err());
    // Length-delimited nesting 10,000 deep through unknown fields.
    let mut nested = Vec::new();
    for _ in 0..10_000 {
        let mut outer = Vec::new();
        key(77, 2, &mut outer);
        varint(nested.len() as u64, &mut outer);
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    let _ = Event::decode(&nested[..]);
    let mut bytes = Vec::new();
    encode_record(&mut bytes, &groups);
    encode_record(&mut bytes, &nested);
    let out = check(&bytes);
    assert_eq!(out.payloads.len(), 2);
}

#[test]
fn truncated_varints_and_wrong_wire_types() {
    let cases: Vec<Vec<u8>> = vec![
        vec![0x08, 0xff, 0xff, 0xff], // step: varint cut short
        vec![0x08; 11],               // field 1 with a 10-byte varint of 0x08s
        vec![
            0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ], // overlong
        vec![0x09, 1, 2, 3],          // wall_time (fixed64) cut short
        vec![0x0a, 0x05, 1, 2],       // wall_time sent as length-delimited
        vec![0x2a, 0x80, 0x80, 0x80, 0x80, 0x10], // summary claiming 4 GiB
        vec![0x2a, 0x02, 0x0a, 0x7f], // summary.value claiming more than the summary
        vec![0x1e],                   // wire type 6 (invalid)
        vec![0x1f],                   // wire type 7 (invalid)
        vec![0x1c],                   // end-group without a start
        vec![0x00],                   // field number 0
    ];
    for payload in cases {
        let _ = Event::decode(&payload[..]);
        let mut bytes = Vec::new();
        encode_record(&mut bytes, &payload);
        assert_eq!(check(&bytes).payloads.len(), 1);
    }
}

#[test]
fn regressions_never_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/data/regressions") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let out = check(&bytes);
        for p in &out.payloads {
            let ((), largest) = largest_allocation(|| bulk_decode(p));
            assert!(
                largest <= bulk_allocation_bound(p.len()),
                "{}",
                path.display()
            );
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("events.out.tfevents.1.h.1.0"), &bytes).unwrap();
        for strict in [false, true] {
            let opts = ReadOptions {
                strict,
                ..ReadOptions::default()
            };
            let _ = ferroboard_core::reader::read(dir.path(), opts);
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}

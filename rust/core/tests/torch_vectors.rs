//! Records taken byte for byte from files written by `torch.utils.tensorboard.SummaryWriter`
//! (torch 2.15, tensorboard 2.21), produced by:
//!
//! ```python
//! w = SummaryWriter(d)
//! w.add_scalar("loss", 0.5, 3, walltime=1.0)
//! w.add_text("note", "hi", 4, walltime=2.0)
//! ```
//!
//! Our framing, CRCs and event encoding must reproduce them exactly.

use ferroboard_core::format::record::{encode_record, Frame, RecordParser};
use ferroboard_core::summary::{self, Step, WallTime};
use prost::Message;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const TORCH_SCALAR: &str =
    "1a00000000000000129bd82d09000000000000f03f10032a0d0a0b0a046c6f7373150000003f7fb84377";
const TORCH_TEXT: &str = "3a000000000000001295eae209000000000000004010042a2d0a2b0a116e6f74652f746578745f73756d6d617279420c0807120412020801420268694a080a060a0474657874e10eac53";

#[test]
fn our_scalar_record_is_torchs_byte_for_byte() {
    let ev = summary::summary_event(
        WallTime(1.0),
        Step(3),
        vec![summary::scalar_simple("loss".into(), 0.5)],
    );
    let mut framed = Vec::new();
    encode_record(&mut framed, &ev.encode_to_vec());
    assert_eq!(framed, unhex(TORCH_SCALAR));
}

#[test]
fn our_text_record_is_torchs_byte_for_byte() {
    let ev = summary::summary_event(WallTime(2.0), Step(4), vec![summary::text("note", "hi")]);
    let mut framed = Vec::new();
    encode_record(&mut framed, &ev.encode_to_vec());
    assert_eq!(framed, unhex(TORCH_TEXT));
}

#[test]
fn torch_records_parse_with_valid_crcs() {
    let mut bytes = unhex(TORCH_SCALAR);
    bytes.extend(unhex(TORCH_TEXT));
    let mut p = RecordParser::new();
    p.feed(&bytes);
    let mut n = 0;
    while let Frame::Record { payload, .. } = p.next_frame().unwrap() {
        ferroboard_core::proto::Event::decode(payload).unwrap();
        n += 1;
    }
    assert_eq!(n, 2);
}

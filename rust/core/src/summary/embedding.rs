//! Embeddings for TensorBoard's projector: `add_embedding`'s files, laid out as
//! `torch.utils.tensorboard` lays them out under the writer's `log_dir`:
//!
//! ```text
//! projector_config.pbtxt           every embedding this writer logged (ProjectorConfig, text)
//! {step:05}/{tag, escaped}/tensors.tsv    the matrix, one row per line, tab-separated
//! {step:05}/{tag, escaped}/metadata.tsv   labels: one per line, or a header line and rows
//! {step:05}/{tag, escaped}/sprite.png     the label images tiled in a square, RGB
//! ```
//!
//! torch writes no event for an embedding; the projector finds `projector_config.pbtxt` in a
//! run's directory (a directory with an event file).
//!
//! Format decisions, each checked against torch's output in `tests/test_embedding.py`:
//!
//! * **Values** ([`tensors_tsv`]): each value as Python's `repr` of the float64 it widens to
//!   (what torch's `str(x.item())` gives), so TensorBoard's reader (`float()` then `float32`)
//!   reads back exactly the value logged, with no double rounding; integers in decimal;
//!   NaN and infinities as `nan`, `inf`, `-inf`.
//! * **Metadata** ([`metadata_tsv`]): one label per line; with a header, the header line
//!   then one tab-separated row per point. A label may not hold a tab, CR or LF (the file
//!   would have other rows or columns than logged), and a header needs two columns or more
//!   (TensorBoard takes a first line without a tab for data, not a header).
//! * **Sprite** ([`sprite_png`]): torch's `make_sprite`: `ceil(sqrt(N))` images per row, in a
//!   square canvas `W * cols` pixels wide and high (black where no image is), gray images
//!   repeated to RGB; `uint8` pixels as they are, other types scaled by 255, clipped to
//!   `[0, 255]` and truncated (NaN gives 0) as torch does for floats.
//! * **Config** ([`config_text`]): protobuf's `text_format.MessageToString` of the
//!   `ProjectorConfig`, byte for byte; [`parse_config`] reads such text back.
//!
//! Every file is written by [`store`] and read by [`load`], the two functions here that do
//! I/O, both through [`crate::storage`] (so a projector in an `s3://` log directory is
//! written there): a file is replaced atomically, so that a reader sees the old file or the
//! new one, never part of one. [`Projector::add`] writes an
//! embedding's files before the config that names them, so a failure leaves no entry
//! pointing at missing or partial files.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::codec::png::{self, PngCompression};
use crate::dtype::half::{BF16, F16};
use crate::storage;

/// The config's file name in the writer's directory.
pub const CONFIG_FILE: &str = "projector_config.pbtxt";
/// The matrix's file name in an embedding's directory.
pub const TENSORS_FILE: &str = "tensors.tsv";
/// The labels' file name in an embedding's directory.
pub const METADATA_FILE: &str = "metadata.tsv";
/// The sprite's file name in an embedding's directory.
pub const SPRITE_FILE: &str = "sprite.png";

/// The longest file name component most file systems allow, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// Why an embedding was not logged.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    /// An argument is unusable (named as in `add_embedding`'s signature); nothing was written.
    #[error("{arg}: {msg}")]
    Invalid {
        /// The argument's name.
        arg: &'static str,
        /// What is wrong, and what was expected.
        msg: String,
    },
    /// A file could not be written (the config was not updated).
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

fn invalid(arg: &'static str, msg: impl Into<String>) -> EmbeddingError {
    EmbeddingError::Invalid {
        arg,
        msg: msg.into(),
    }
}

// ---------------------------------------------------------------- values

/// A matrix element type: how one value is written to `tensors.tsv`.
pub trait TsvValue: Copy + Send + Sync {
    /// Appends the value's text.
    fn write_tsv(self, out: &mut Vec<u8>);
}

macro_rules! tsv_int {
    ($($t:ty),*) => {$(
        impl TsvValue for $t {
            fn write_tsv(self, out: &mut Vec<u8>) {
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
tsv_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl TsvValue for f64 {
    fn write_tsv(self, out: &mut Vec<u8>) {
        write_py_float(out, self);
    }
}

impl TsvValue for f32 {
    fn write_tsv(self, out: &mut Vec<u8>) {
        write_py_float(out, f64::from(self));
    }
}

impl TsvValue for F16 {
    fn write_tsv(self, out: &mut Vec<u8>) {
        write_py_float(out, self.to_f64());
    }
}

impl TsvValue for BF16 {
    fn write_tsv(self, out: &mut Vec<u8>) {
        write_py_float(out, self.to_f64());
    }
}

/// Appends Python's `repr(x)`: the shortest digits that read back as `x`, in fixed notation
/// when the decimal exponent is in `[-4, 16)`, else as `d.ddde±XX`.
pub fn write_py_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    // ryu gives the shortest round-trip digits, laid out its own way ("1e16", "0.001",
    // "1.5e-7", "100.0"): take the digits and the exponent, and lay them out as Python does.
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(x).as_bytes();
    // Fast path: ryu's fixed notation ("123.456", "100.0", "0.0001") is Python's wherever
    // Python uses fixed notation too, i.e. unless the exponent is below -4 ("0.0000...").
    let unsigned = text.strip_prefix(b"-").unwrap_or(text);
    if !text.contains(&b'e') && !unsigned.starts_with(b"0.0000") {
        out.extend_from_slice(text);
        return;
    }
    let (neg, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut exp: i32 = 0;
    if e_at < text.len() {
        let (sign, digits) = match &text[e_at + 1..] {
            [b'-', rest @ ..] => (-1, rest),
            rest => (1, rest),
        };
        for &d in digits {
            exp = exp * 10 + i32::from(d - b'0');
        }
        exp *= sign;
    }
    let mantissa = &text[..e_at];
    let point = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    let mut digits = [0u8; 32];
    let mut nd = 0;
    for &b in mantissa {
        if b != b'.' && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    // The decimal exponent of the first digit, then the significant digits alone.
    let mut first = 0;
    while first < nd && digits[first] == b'0' {
        first += 1;
    }
    let mut last = nd;
    while last > first && digits[last - 1] == b'0' {
        last -= 1;
    }
    if neg {
        out.push(b'-');
    }
    if first == last {
        out.extend_from_slice(b"0.0");
        return;
    }
    let exp = point as i32 - 1 - first as i32 + exp;
    let digits = &digits[first..last];
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.resize(out.len() + int_len - digits.len(), b'0');
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-exp - 1) as usize, b'0');
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a >= 100 {
            out.push(b'0' + (a / 100) as u8);
        }
        out.push(b'0' + (a / 10 % 10) as u8);
        out.push(b'0' + (a % 10) as u8);
    }
}

/// Rows per parallel task when formatting a matrix.
const ROWS_PER_TASK: usize = 64;

/// Matrices and sprites with fewer values are done on the calling thread: below this, handing
/// work to the pool cost more than it saved on a busy 2-core machine (1000 x 128 values
/// formatted in 5 ms serially, 12 ms on the pool).
const PARALLEL_MIN_VALUES: usize = 1 << 22;

/// `tensors.tsv` of a row-major matrix of `shape` (which must be `(N, D)` with `N, D >= 1`).
pub fn tensors_tsv<T: TsvValue>(data: &[T], shape: &[usize]) -> Result<Vec<u8>, EmbeddingError> {
    let &[rows, cols] = shape else {
        return Err(invalid(
            "mat",
            format!(
                "expected a 2-D matrix (N points by D features), got shape {shape:?} \
                 ({} dimensions)",
                shape.len()
            ),
        ));
    };
    if rows == 0 || cols == 0 {
        return Err(invalid(
            "mat",
            format!("expected at least one point and one feature, got shape ({rows}, {cols})"),
        ));
    }
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(invalid(
            "mat",
            format!("{} values for shape ({rows}, {cols})", data.len()),
        ));
    }
    let format_rows = |chunk: &[T]| {
        let mut out = Vec::with_capacity(chunk.len() * 20);
        for row in chunk.chunks_exact(cols) {
            for (i, &v) in row.iter().enumerate() {
                if i > 0 {
                    out.push(b'\t');
                }
                v.write_tsv(&mut out);
            }
            out.push(b'\n');
        }
        out
    };
    if rows <= ROWS_PER_TASK || data.len() < PARALLEL_MIN_VALUES {
        return Ok(format_rows(data));
    }
    let parts: Vec<Vec<u8>> = crate::runtime::parallel::install(|| {
        data.par_chunks(ROWS_PER_TASK * cols)
            .map(format_rows)
            .collect()
    });
    Ok(parts.concat())
}

// ---------------------------------------------------------------- metadata

/// `add_embedding`'s labels as strings (the caller's `str()` of each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metadata {
    /// One label per point, no header.
    Column(Vec<String>),
    /// A header and one row of labels per point, as many as the header has columns.
    Table {
        /// The column names.
        header: Vec<String>,
        /// One row per point.
        rows: Vec<Vec<String>>,
    },
}

impl Metadata {
    /// Number of points labelled.
    pub fn len(&self) -> usize {
        match self {
            Metadata::Column(c) => c.len(),
            Metadata::Table { rows, .. } => rows.len(),
        }
    }

    /// Whether no point is labelled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn check_label(
    arg: &'static str,
    s: &str,
    what: impl Fn() -> String,
) -> Result<(), EmbeddingError> {
    if let Some(c) = s.chars().find(|c| matches!(c, '\t' | '\n' | '\r')) {
        return Err(invalid(
            arg,
            format!(
                "{} contains {:?}: tabs and line breaks would change the file's rows or \
                 columns; replace them",
                what(),
                c
            ),
        ));
    }
    Ok(())
}

/// `metadata.tsv` for `metadata`, checked (see the module notes).
pub fn metadata_tsv(metadata: &Metadata) -> Result<Vec<u8>, EmbeddingError> {
    let mut out = Vec::new();
    match metadata {
        Metadata::Column(labels) => {
            for (i, l) in labels.iter().enumerate() {
                check_label("metadata", l, || format!("label {i}"))?;
                out.extend_from_slice(l.as_bytes());
                out.push(b'\n');
            }
        }
        Metadata::Table { header, rows } => {
            if header.len() < 2 {
                return Err(invalid(
                    "metadata_header",
                    format!(
                        "a header names two or more columns (TensorBoard reads a first line \
                         without a tab as a label, not a header), got {} column{}; for one \
                         column of labels, pass no header",
                        header.len(),
                        if header.len() == 1 { "" } else { "s" }
                    ),
                ));
            }
            for (i, h) in header.iter().enumerate() {
                check_label("metadata_header", h, || format!("column name {i}"))?;
            }
            let mut line = |cells: &[String]| {
                for (j, c) in cells.iter().enumerate() {
                    if j > 0 {
                        out.push(b'\t');
                    }
                    out.extend_from_slice(c.as_bytes());
                }
                out.push(b'\n');
            };
            line(header);
            for (i, row) in rows.iter().enumerate() {
                if row.len() != header.len() {
                    return Err(invalid(
                        "metadata",
                        format!(
                            "row {i} has {} values, the header {} columns",
                            row.len(),
                            header.len()
                        ),
                    ));
                }
                for (j, c) in row.iter().enumerate() {
                    check_label("metadata", c, || format!("row {i}, column {j}"))?;
                }
                line(row);
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- sprite

/// A label image sample type: how it becomes an 8-bit pixel.
pub trait SpriteSample: Copy + Send + Sync {
    /// The pixel: the value itself when `scale` is false (`uint8` images), else
    /// `value * 255` clipped to `[0, 255]` and truncated, NaN giving 0 (torch's float path).
    fn to_pixel(self, scale: bool) -> u8;
}

fn scaled(x: f64) -> u8 {
    // `as` saturates and maps NaN to 0: numpy's clip-then-cast on x86.
    (x * 255.0).clamp(0.0, 255.0) as u8
}

macro_rules! sprite_sample {
    ($($t:ty => |$v:ident| $f:expr),* $(,)?) => {$(
        impl SpriteSample for $t {
            fn to_pixel(self, scale: bool) -> u8 {
                let $v = self;
                let x: f64 = $f;
                if scale { scaled(x) } else { x.clamp(0.0, 255.0) as u8 }
            }
        }
    )*};
}
sprite_sample!(
    f32 => |v| f64::from(v),
    f64 => |v| v,
    F16 => |v| v.to_f64(),
    BF16 => |v| v.to_f64(),
    i8 => |v| f64::from(v),
    i16 => |v| f64::from(v),
    i32 => |v| f64::from(v),
    i64 => |v| v as f64,
    u16 => |v| f64::from(v),
    u32 => |v| f64::from(v),
    u64 => |v| v as f64,
);

impl SpriteSample for u8 {
    fn to_pixel(self, scale: bool) -> u8 {
        if scale {
            scaled(f64::from(self))
        } else {
            self
        }
    }
}

/// A sprite: the PNG and the size of one image in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sprite {
    /// The PNG file.
    pub png: Vec<u8>,
    /// Number of images.
    pub images: usize,
    /// One image's width.
    pub width: usize,
    /// One image's height.
    pub height: usize,
}

/// The sprite of `N` label images of `shape` `(N, C, H, W)`, `C` 1 or 3, row-major in `data`.
pub fn sprite_png<S: SpriteSample>(
    data: &[S],
    shape: &[usize],
    scale: bool,
) -> Result<Sprite, EmbeddingError> {
    let &[n, c, h, w] = shape else {
        return Err(invalid(
            "label_img",
            format!(
                "expected images of shape (N, C, H, W), got shape {shape:?} ({} dimensions)",
                shape.len()
            ),
        ));
    };
    if c != 1 && c != 3 {
        return Err(invalid(
            "label_img",
            format!("expected 1 (gray) or 3 (RGB) channels in (N, C, H, W), got shape {shape:?}"),
        ));
    }
    if n == 0 || h == 0 || w == 0 {
        return Err(invalid(
            "label_img",
            format!("expected at least one image of at least one pixel, got shape {shape:?}"),
        ));
    }
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let side = w
        .checked_mul(cols)
        .filter(|&s| {
            s <= png::MAX_SIDE && s.checked_mul(s).and_then(|p| p.checked_mul(3)).is_some()
        })
        .ok_or_else(|| {
            invalid(
                "label_img",
                format!("a sprite of shape {shape:?} is too large"),
            )
        })?;
    if h.saturating_mul(rows) > side {
        return Err(invalid(
            "label_img",
            format!(
                "{n} images {h} high and {w} wide do not fit the square sprite torch makes \
                 ({cols} images per row, {side}x{side} pixels): images may not be taller than \
                 about as wide"
            ),
        ));
    }
    if n.checked_mul(c * h * w) != Some(data.len()) {
        return Err(invalid(
            "label_img",
            format!("{} values for shape {shape:?}", data.len()),
        ));
    }
    let mut canvas = vec![0u8; side * side * 3];
    let plane = h * w;
    let fill = |(band, out): (usize, &mut [u8])| {
        // `out` is one band of `h` canvas rows holding images band*cols .. band*cols+cols.
        for k in 0..cols {
            let i = band * cols + k;
            if i >= n {
                break;
            }
            let img = &data[i * c * plane..(i + 1) * c * plane];
            for y in 0..h {
                let row = &mut out[(y * side + k * w) * 3..(y * side + (k + 1) * w) * 3];
                for ch in 0..3 {
                    let src = if c == 1 { 0 } else { ch };
                    let line = &img[src * plane + y * w..src * plane + (y + 1) * w];
                    for (dst, &v) in row[ch..].iter_mut().step_by(3).zip(line) {
                        *dst = v.to_pixel(scale);
                    }
                }
            }
        }
    };
    let band_len = h * side * 3;
    let bands = &mut canvas[..rows * band_len];
    if data.len() < PARALLEL_MIN_VALUES {
        bands.chunks_mut(band_len).enumerate().for_each(fill);
    } else {
        crate::runtime::parallel::install(|| {
            bands.par_chunks_mut(band_len).enumerate().for_each(fill)
        });
    }
    let png = png::encode(&canvas, side, side, 3, PngCompression::Fast)
        .map_err(|e| invalid("label_img", e.to_string()))?;
    Ok(Sprite {
        png,
        images: n,
        width: w,
        height: h,
    })
}

// ---------------------------------------------------------------- config

/// One `EmbeddingInfo` of the config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmbeddingInfo {
    /// `{tag}:{step:05}`.
    pub tensor_name: String,
    /// Relative to the config's directory.
    pub metadata_path: Option<String>,
    /// Relative to the config's directory (not written by `add_embedding`; kept when read).
    pub bookmarks_path: Option<String>,
    /// `(N, D)`, when the config gives it (`add_embedding` does not).
    pub tensor_shape: Vec<u64>,
    /// The sprite's path (relative) and `single_image_dim` (`[W, H]`).
    pub sprite: Option<(String, Vec<u64>)>,
    /// Relative to the config's directory.
    pub tensor_path: String,
}

/// A `ProjectorConfig`, as far as embeddings go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectorConfig {
    /// `model_checkpoint_path` (TensorFlow checkpoints; never written here).
    pub model_checkpoint_path: Option<String>,
    /// The embeddings, in order.
    pub embeddings: Vec<EmbeddingInfo>,
    /// `model_checkpoint_dir`.
    pub model_checkpoint_dir: Option<String>,
}

/// protobuf's `CEscape` of a string field as `text_format` prints it (UTF-8 kept).
fn escape_into(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 32 || c as u32 == 127 => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn string_field(out: &mut String, indent: &str, name: &str, value: &str) {
    out.push_str(indent);
    out.push_str(name);
    out.push_str(": \"");
    escape_into(out, value);
    out.push_str("\"\n");
}

/// The config as `text_format.MessageToString` prints it (fields in field-number order).
pub fn config_text(config: &ProjectorConfig) -> String {
    let mut out = String::new();
    if let Some(p) = &config.model_checkpoint_path {
        string_field(&mut out, "", "model_checkpoint_path", p);
    }
    for e in &config.embeddings {
        out.push_str("embeddings {\n");
        string_field(&mut out, "  ", "tensor_name", &e.tensor_name);
        if let Some(m) = &e.metadata_path {
            string_field(&mut out, "  ", "metadata_path", m);
        }
        if let Some(b) = &e.bookmarks_path {
            string_field(&mut out, "  ", "bookmarks_path", b);
        }
        for d in &e.tensor_shape {
            let _ = writeln!(out, "  tensor_shape: {d}");
        }
        if let Some((path, dims)) = &e.sprite {
            out.push_str("  sprite {\n");
            string_field(&mut out, "    ", "image_path", path);
            for d in dims {
                let _ = writeln!(out, "    single_image_dim: {d}");
            }
            out.push_str("  }\n");
        }
        string_field(&mut out, "  ", "tensor_path", &e.tensor_path);
        out.push_str("}\n");
    }
    if let Some(d) = &config.model_checkpoint_dir {
        string_field(&mut out, "", "model_checkpoint_dir", d);
    }
    out
}

/// A token of protobuf's text format.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(u64),
    Colon,
    Open(char),
    Close(char),
    Sep,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b':' => {
                out.push(Token::Colon);
                i += 1;
            }
            b',' | b';' => {
                out.push(Token::Sep);
                i += 1;
            }
            b'{' | b'<' => {
                out.push(Token::Open(c as char));
                i += 1;
            }
            b'}' | b'>' => {
                out.push(Token::Close(c as char));
                i += 1;
            }
            b'"' | b'\'' => {
                let quote = c;
                i += 1;
                let mut bytes = Vec::new();
                loop {
                    let Some(&d) = b.get(i) else {
                        return Err("unterminated string".into());
                    };
                    i += 1;
                    if d == quote {
                        break;
                    }
                    if d == b'\n' {
                        return Err("line break in a string".into());
                    }
                    if d != b'\\' {
                        bytes.push(d);
                        continue;
                    }
                    let Some(&e) = b.get(i) else {
                        return Err("unterminated escape".into());
                    };
                    i += 1;
                    match e {
                        b'n' => bytes.push(b'\n'),
                        b't' => bytes.push(b'\t'),
                        b'r' => bytes.push(b'\r'),
                        b'a' => bytes.push(7),
                        b'b' => bytes.push(8),
                        b'f' => bytes.push(12),
                        b'v' => bytes.push(11),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match b.get(i) {
                                    Some(&o @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(o - b'0');
                                        i += 1;
                                    }
                                    _ => break,
                                }
                            }
                            bytes.push((v & 0xFF) as u8);
                        }
                        b'x' => {
                            let mut v = 0u32;
                            let mut n = 0;
                            while n < 2 {
                                match b.get(i).and_then(|h| (*h as char).to_digit(16)) {
                                    Some(h) => {
                                        v = v * 16 + h;
                                        i += 1;
                                        n += 1;
                                    }
                                    None => break,
                                }
                            }
                            if n == 0 {
                                return Err("\\x without hex digits".into());
                            }
                            bytes.push(v as u8);
                        }
                        other => bytes.push(other),
                    }
                }
                let s = String::from_utf8(bytes).map_err(|_| "a string is not UTF-8")?;
                // Adjacent strings concatenate.
                if let Some(Token::Str(prev)) = out.last_mut() {
                    prev.push_str(&s);
                } else {
                    out.push(Token::Str(s));
                }
            }
            b'0'..=b'9' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                let t = &text[start..i];
                let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    u64::from_str_radix(h, 16)
                } else {
                    t.parse()
                };
                out.push(Token::Int(v.map_err(|_| format!("bad number {t:?}"))?));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Token::Ident(text[start..i].to_owned()));
            }
            other => return Err(format!("unexpected character {:?}", other as char)),
        }
    }
    Ok(out)
}

/// A parsed text-format field value.
#[derive(Debug)]
enum Val {
    Str(String),
    Int(u64),
    Msg(Vec<(String, Val)>),
}

struct Parser {
    toks: Vec<Token>,
    at: usize,
}

impl Parser {
    fn fields(&mut self, close: Option<char>) -> Result<Vec<(String, Val)>, String> {
        let mut out = Vec::new();
        loop {
            match self.toks.get(self.at).cloned() {
                None if close.is_none() => return Ok(out),
                None => return Err("unclosed message".into()),
                Some(Token::Close(c)) if close == Some(c) => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(Token::Sep) => self.at += 1,
                Some(Token::Ident(name)) => {
                    self.at += 1;
                    let colon = self.toks.get(self.at) == Some(&Token::Colon);
                    if colon {
                        self.at += 1;
                    }
                    let v = match self.toks.get(self.at).cloned() {
                        Some(Token::Open(o)) => {
                            self.at += 1;
                            Val::Msg(self.fields(Some(if o == '{' { '}' } else { '>' }))?)
                        }
                        Some(Token::Str(s)) if colon => {
                            self.at += 1;
                            Val::Str(s)
                        }
                        Some(Token::Int(n)) if colon => {
                            self.at += 1;
                            Val::Int(n)
                        }
                        other => return Err(format!("field {name}: unexpected {other:?}")),
                    };
                    out.push((name, v));
                }
                Some(other) => return Err(format!("unexpected {other:?}")),
            }
        }
    }
}

fn want_str(field: &str, v: Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s),
        other => Err(format!("{field}: expected a string, got {other:?}")),
    }
}

fn want_int(field: &str, v: Val) -> Result<u64, String> {
    match v {
        Val::Int(n) => Ok(n),
        other => Err(format!("{field}: expected an integer, got {other:?}")),
    }
}

fn want_msg(field: &str, v: Val) -> Result<Vec<(String, Val)>, String> {
    match v {
        Val::Msg(m) => Ok(m),
        other => Err(format!("{field}: expected a message, got {other:?}")),
    }
}

/// Reads a `projector_config.pbtxt` (protobuf text format of TensorBoard's
/// `ProjectorConfig`); unknown fields are errors, as they are for protobuf's parser.
pub fn parse_config(text: &str) -> Result<ProjectorConfig, String> {
    let toks = tokenize(text)?;
    let fields = Parser { toks, at: 0 }.fields(None)?;
    let mut config = ProjectorConfig::default();
    for (name, v) in fields {
        match name.as_str() {
            "model_checkpoint_path" => config.model_checkpoint_path = Some(want_str(&name, v)?),
            "model_checkpoint_dir" => config.model_checkpoint_dir = Some(want_str(&name, v)?),
            "embeddings" => {
                let mut e = EmbeddingInfo::default();
                for (n, v) in want_msg(&name, v)? {
                    match n.as_str() {
                        "tensor_name" => e.tensor_name = want_str(&n, v)?,
                        "tensor_path" => e.tensor_path = want_str(&n, v)?,
                        "metadata_path" => e.metadata_path = Some(want_str(&n, v)?),
                        "bookmarks_path" => e.bookmarks_path = Some(want_str(&n, v)?),
                        "tensor_shape" => e.tensor_shape.push(want_int(&n, v)?),
                        "sprite" => {
                            let (mut path, mut dims) = (String::new(), Vec::new());
                            for (sn, sv) in want_msg(&n, v)? {
                                match sn.as_str() {
                                    "image_path" => path = want_str(&sn, sv)?,
                                    "single_image_dim" => dims.push(want_int(&sn, sv)?),
                                    other => return Err(format!("unknown sprite field {other}")),
                                }
                            }
                            e.sprite = Some((path, dims));
                        }
                        other => return Err(format!("unknown embedding field {other}")),
                    }
                }
                config.embeddings.push(e);
            }
            other => return Err(format!("unknown field {other}")),
        }
    }
    Ok(config)
}

// ---------------------------------------------------------------- layout

/// torch's `SummaryWriter._encode`: `%`, `/` and `\` as `%25`, `%2f`, `%5c`.
pub fn encode_tag(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for c in tag.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2f"),
            '\\' => out.push_str("%5c"),
            c => out.push(c),
        }
    }
    out
}

/// An embedding's directory relative to the writer's (`{step:05}/{tag, escaped}`, with
/// `str(step).zfill(5)`'s sign handling), and its tensor name (`{tag}:{step:05}`).
pub fn layout(step: i64, tag: &str) -> Result<(String, String), EmbeddingError> {
    let name = encode_tag(tag);
    if name.is_empty() || name == "." || name == ".." {
        return Err(invalid(
            "tag",
            format!("{tag:?} cannot name the embedding's directory; give a non-empty name"),
        ));
    }
    if tag.contains('\0') {
        return Err(invalid("tag", "must not contain NUL"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(invalid(
            "tag",
            format!(
                "names a directory, so at most {MAX_NAME_BYTES} bytes (after escaping %, / and \\), \
                 got {}",
                name.len()
            ),
        ));
    }
    let step = format!("{step:05}");
    Ok((format!("{step}/{name}"), format!("{tag}:{step}")))
}

// ---------------------------------------------------------------- files

/// Writes `bytes` to `path` atomically (on the local file system, a temporary file beside it
/// renamed over it; on an object store, one upload), creating missing parent directories;
/// with `sync`, the data and then the directory entry are on the storage device before it
/// returns (the writer's `fsync=True`). The one place embeddings write, through
/// [`storage::write_file`].
pub fn store(path: &Path, bytes: &[u8], sync: bool) -> Result<(), EmbeddingError> {
    storage::write_file(path, bytes, sync).map_err(|e| EmbeddingError::Io {
        path: e.path,
        source: e.source,
    })
}

/// An embedding's encoded files, ready to be written.
#[derive(Debug, Clone)]
pub struct Assets {
    /// `global_step` (torch's `None` is 0).
    pub step: i64,
    /// The embedding's name.
    pub tag: String,
    /// Number of points (rows of `tensors`).
    pub points: usize,
    /// `tensors.tsv`, from [`tensors_tsv`].
    pub tensors: Vec<u8>,
    /// `metadata.tsv` and the number of points it labels, from [`metadata_tsv`].
    pub metadata: Option<(Vec<u8>, usize)>,
    /// The sprite, from [`sprite_png`].
    pub sprite: Option<Sprite>,
}

/// Reads the file at `path`, `Ok(None)` when there is none: the one place embeddings read
/// the file system (beside [`store`], which writes).
pub fn load(path: &Path) -> Result<Option<Vec<u8>>, EmbeddingError> {
    match storage::read_all(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(EmbeddingError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// One writer's projector: its directory and the embeddings listed in its config, in order.
///
/// Before its first write, a projector reads the config already in its directory (a resumed
/// run's), so that the embeddings logged there before stay listed; a config it cannot parse
/// is replaced, as torch replaces every config.
#[derive(Debug, Clone)]
pub struct Projector {
    dir: PathBuf,
    config: ProjectorConfig,
    loaded: bool,
    sync: bool,
}

impl Projector {
    /// A projector writing under `dir` (the writer's `log_dir`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Projector {
            dir: dir.into(),
            config: ProjectorConfig::default(),
            loaded: false,
            sync: false,
        }
    }

    /// Every file on the storage device before [`Projector::add`] returns (the writer's
    /// `fsync=True`).
    pub fn with_sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// The config as written so far.
    pub fn config(&self) -> &ProjectorConfig {
        &self.config
    }

    /// Checks `assets` against each other, then (when `write`) writes the files and the
    /// config with the new entry (an entry of the same tensor name is replaced in place).
    /// Nothing is written when a check fails; when a write fails, the config and this
    /// projector's entries are unchanged.
    pub fn add(&mut self, assets: Assets, write: bool) -> Result<EmbeddingInfo, EmbeddingError> {
        let (subdir, tensor_name) = layout(assets.step, &assets.tag)?;
        if let Some((_, n)) = &assets.metadata {
            if *n != assets.points {
                return Err(invalid(
                    "metadata",
                    format!("{n} labels for {} points (rows of mat)", assets.points),
                ));
            }
        }
        if let Some(s) = &assets.sprite {
            if s.images != assets.points {
                return Err(invalid(
                    "label_img",
                    format!(
                        "{} images for {} points (rows of mat)",
                        s.images, assets.points
                    ),
                ));
            }
        }
        if write && !self.loaded {
            let existing = load(&self.dir.join(CONFIG_FILE))?;
            if let Some(text) = existing
                .as_deref()
                .and_then(|b| std::str::from_utf8(b).ok())
            {
                if let Ok(config) = parse_config(text) {
                    self.config = config;
                }
            }
            self.loaded = true;
        }
        let rel = |f: &str| format!("{subdir}/{f}");
        let info = EmbeddingInfo {
            tensor_name,
            metadata_path: assets.metadata.as_ref().map(|_| rel(METADATA_FILE)),
            bookmarks_path: None,
            tensor_shape: Vec::new(),
            sprite: assets
                .sprite
                .as_ref()
                .map(|s| (rel(SPRITE_FILE), vec![s.width as u64, s.height as u64])),
            tensor_path: rel(TENSORS_FILE),
        };
        let mut next = self.config.clone();
        match next
            .embeddings
            .iter_mut()
            .find(|e| e.tensor_name == info.tensor_name)
        {
            Some(e) => *e = info.clone(),
            None => next.embeddings.push(info.clone()),
        }
        if write {
            let dir = self.dir.join(&subdir);
            store(&dir.join(TENSORS_FILE), &assets.tensors, self.sync)?;
            if let Some((m, _)) = &assets.metadata {
                store(&dir.join(METADATA_FILE), m, self.sync)?;
            }
            if let Some(s) = &assets.sprite {
                store(&dir.join(SPRITE_FILE), &s.png, self.sync)?;
            }
            store(
                &self.dir.join(CONFIG_FILE),
                config_text(&next).as_bytes(),
                self.sync,
            )?;
        }
        self.config = next;
        Ok(info)
    }
}

/// What `ferroboard ls` shows of one embedding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The config's entry.
    pub info: EmbeddingInfo,
    /// `(rows, columns)` of the tensor file, when it is a readable TSV.
    pub shape: Option<(usize, usize)>,
}

/// The embeddings of the `projector_config.pbtxt` in `dir`, if there is one (`Ok(None)` when
/// there is none); each with its tensor file's shape, read as TensorBoard reads it
/// (non-empty lines; columns of the first).
pub fn find(dir: &Path) -> Result<Option<Vec<Found>>, String> {
    let path = dir.join(CONFIG_FILE);
    let Some(bytes) = load(&path).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    let config = parse_config(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let found = config
        .embeddings
        .into_iter()
        .map(|info| {
            let shape = load(&dir.join(&info.tensor_path))
                .ok()
                .flatten()
                .and_then(|b| tsv_shape(&b));
            Found { info, shape }
        })
        .collect();
    Ok(Some(found))
}

fn tsv_shape(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && *l != b"\r");
    let first = lines.next()?;
    let cols = first.split(|&b| b == b'\t').count();
    Some((1 + lines.count(), cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(x: f64) -> String {
        let mut v = Vec::new();
        write_py_float(&mut v, x);
        String::from_utf8(v).unwrap()
    }

    /// Expected strings are Python's `repr` of the same values.
    #[test]
    fn floats_as_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (f64::from(0.1f32), "0.10000000149011612"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (123.456, "123.456"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (100.0, "100.0"),
            (1e22, "1e+22"),
            (1.25e-5, "1.25e-05"),
            (0.000123, "0.000123"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e-100, "1e-100"),
            (123456789.0, "123456789.0"),
        ];
        for &(x, want) in cases {
            assert_eq!(py(x), want, "{x:e}");
        }
    }

    #[test]
    fn float32_values_read_back_exactly() {
        use proptest::prelude::*;
        proptest!(ProptestConfig { cases: 5000, failure_persistence: None, ..ProptestConfig::default() },
        |(bits in any::<u32>())| {
            let x = f32::from_bits(bits);
            let s = py(f64::from(x));
            if x.is_nan() {
                prop_assert_eq!(s, "nan");
            } else {
                // Through float64 (TensorBoard's `float()`) and directly.
                let d: f64 = s.parse().unwrap();
                prop_assert_eq!((d as f32).to_bits(), x.to_bits());
                prop_assert_eq!(s.parse::<f32>().unwrap().to_bits(), x.to_bits());
            }
        });
    }

    #[test]
    fn tsv_rows_and_shape_checks() {
        let t = tensors_tsv(&[1.0f32, 2.5, -3.0, 0.1], &[2, 2]).unwrap();
        assert_eq!(t, b"1.0\t2.5\n-3.0\t0.10000000149011612\n");
        let t = tensors_tsv(&[1i64, -2, 3], &[3, 1]).unwrap();
        assert_eq!(t, b"1\n-2\n3\n");
        assert!(matches!(
            tensors_tsv(&[1.0f32; 4], &[4]),
            Err(EmbeddingError::Invalid { arg: "mat", .. })
        ));
        assert!(matches!(
            tensors_tsv::<f32>(&[], &[0, 3]),
            Err(EmbeddingError::Invalid { arg: "mat", .. })
        ));
        // Parallel chunks join in order.
        let data: Vec<i32> = (0..1000).collect();
        let t = tensors_tsv(&data, &[500, 2]).unwrap();
        let want: String = (0..500)
            .map(|r| format!("{}\t{}\n", 2 * r, 2 * r + 1))
            .collect();
        assert_eq!(t, want.as_bytes());
    }

    #[test]
    fn metadata_files() {
        let m = Metadata::Column(vec!["a".into(), "b c".into()]);
        assert_eq!(metadata_tsv(&m).unwrap(), b"a\nb c\n");
        let m = Metadata::Table {
            header: vec!["x".into(), "y".into()],
            rows: vec![vec!["1".into(), "2".into()]],
        };
        assert_eq!(metadata_tsv(&m).unwrap(), b"x\ty\n1\t2\n");
        let bad = Metadata::Column(vec!["a\tb".into()]);
        assert!(matches!(
            metadata_tsv(&bad),
            Err(EmbeddingError::Invalid {
                arg: "metadata",
                ..
            })
        ));
        let one = Metadata::Table {
            header: vec!["x".into()],
            rows: vec![vec!["1".into()]],
        };
        assert!(matches!(
            metadata_tsv(&one),
            Err(EmbeddingError::Invalid {
                arg: "metadata_header",
                ..
            })
        ));
        let ragged = Metadata::Table {
            header: vec!["x".into(), "y".into()],
            rows: vec![vec!["1".into()]],
        };
        assert!(matches!(
            metadata_tsv(&ragged),
            Err(EmbeddingError::Invalid {
                arg: "metadata",
                ..
            })
        ));
    }

    #[test]
    fn sprite_tiles_in_a_square() {
        // 3 gray images 1 high, 2 wide: 2 per row, a 4x4 canvas.
        let data = [0u8, 10, 20, 30, 40, 50];
        let s = sprite_png(&data, &[3, 1, 1, 2], false).unwrap();
        assert_eq!((s.images, s.width, s.height), (3, 2, 1));
        let p = crate::codec::png::decode(&s.png).unwrap();
        assert_eq!(p.shape(), vec![4, 4, 3]);
        let px = |y: usize, x: usize| p.data[(y * 4 + x) * 3];
        assert_eq!([px(0, 0), px(0, 1), px(0, 2), px(0, 3)], [0, 10, 20, 30]);
        assert_eq!([px(1, 0), px(1, 1), px(1, 2), px(1, 3)], [40, 50, 0, 0]);
        assert_eq!(px(3, 3), 0);
        // Floats scale by 255 and truncate; NaN is 0.
        let s = sprite_png(&[0.5f32, f32::NAN, 2.0, -1.0], &[1, 1, 2, 2], true).unwrap();
        let p = crate::codec::png::decode(&s.png).unwrap();
        assert_eq!(
            p.data.iter().step_by(3).copied().collect::<Vec<_>>(),
            [127, 0, 255, 0]
        );
        assert!(matches!(
            sprite_png(&[0u8; 8], &[2, 4, 1, 1], false),
            Err(EmbeddingError::Invalid {
                arg: "label_img",
                ..
            })
        ));
        // Too tall for torch's square canvas.
        assert!(sprite_png(&[0u8; 20], &[2, 1, 10, 1], false).is_err());
    }

    #[test]
    fn layout_as_torch() {
        assert_eq!(
            layout(0, "default").unwrap(),
            ("00000/default".into(), "default:00000".into())
        );
        assert_eq!(
            layout(-3, "a/b%c\\").unwrap(),
            ("-0003/a%2fb%25c%5c".into(), "a/b%c\\:-0003".into())
        );
        assert_eq!(layout(1234567, "t").unwrap().0, "1234567/t");
        assert!(layout(0, "..").is_err());
        assert!(layout(0, "").is_err());
        assert!(layout(0, &"x".repeat(300)).is_err());
    }

    #[test]
    fn config_round_trips() {
        let c = ProjectorConfig {
            model_checkpoint_path: None,
            embeddings: vec![
                EmbeddingInfo {
                    tensor_name: "a\"b'c\\d\té\u{1}:00000".into(),
                    metadata_path: Some("m".into()),
                    sprite: Some(("s".into(), vec![3, 4])),
                    tensor_path: "x".into(),
                    ..Default::default()
                },
                EmbeddingInfo {
                    tensor_name: "t:00001".into(),
                    tensor_path: "00001/t/tensors.tsv".into(),
                    ..Default::default()
                },
            ],
            model_checkpoint_dir: None,
        };
        let text = config_text(&c);
        // protobuf's MessageToString for the first entry.
        assert!(text.starts_with(
            "embeddings {\n  tensor_name: \"a\\\"b\\'c\\\\d\\té\\001:00000\"\n  metadata_path: \"m\"\n  sprite {\n    image_path: \"s\"\n    single_image_dim: 3\n    single_image_dim: 4\n  }\n  tensor_path: \"x\"\n}\n"
        ));
        assert_eq!(parse_config(&text).unwrap(), c);
        assert!(parse_config("embeddings { bogus: 1 }").is_err());
        assert!(parse_config("embeddings { tensor_name: \"x").is_err());
    }

    #[test]
    fn add_writes_assets_then_config() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Projector::new(dir.path());
        let assets = |tag: &str, points: usize| Assets {
            step: 0,
            tag: tag.into(),
            points,
            tensors: tensors_tsv(&vec![1.0f32; points * 2], &[points, 2]).unwrap(),
            metadata: Some((b"a\nb\n".to_vec(), 2)),
            sprite: None,
        };
        assert!(matches!(
            p.add(assets("bad", 3), true),
            Err(EmbeddingError::Invalid {
                arg: "metadata",
                ..
            })
        ));
        assert!(!dir.path().join("00000").exists());
        p.add(assets("one", 2), true).unwrap();
        // A file where the next embedding's directory goes: an I/O error, no entry.
        std::fs::write(dir.path().join("00000/two"), b"x").unwrap();
        assert!(matches!(
            p.add(assets("two", 2), true),
            Err(EmbeddingError::Io { .. })
        ));
        let found = find(dir.path()).unwrap().unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].info.tensor_name, "one:00000");
        assert_eq!(found[0].shape, Some((2, 2)));
        // The same name again replaces its entry.
        p.add(assets("one", 2), true).unwrap();
        assert_eq!(find(dir.path()).unwrap().unwrap().len(), 1);
        assert!(find(&dir.path().join("00000")).unwrap().is_none());
        // A new projector on the same directory (a resumed run) keeps the entries there.
        let mut resumed = Projector::new(dir.path()).with_sync(true);
        resumed.add(assets("three", 2), true).unwrap();
        let names: Vec<_> = find(dir.path())
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|f| f.info.tensor_name)
            .collect();
        assert_eq!(names, ["one:00000", "three:00000"]);
        // An unreadable config is replaced.
        std::fs::write(dir.path().join(CONFIG_FILE), b"embeddings {").unwrap();
        Projector::new(dir.path())
            .add(assets("four", 2), true)
            .unwrap();
        assert_eq!(find(dir.path()).unwrap().unwrap().len(), 1);
    }
}

"""Fits the AVX2 slot kernel's coefficients (`rust/core/src/summary/histogram/logbin.rs`).

The kernel evaluates, for a float32 value with biased exponent `eb` and mantissa
`m` in [1, 2), `r = eb * A + P_i(m)` where `i` is the mantissa's top three bits and
`P_i(m) = (Q2[i] * m + Q1[i]) * m + Q0[i]` approximates, on the piece
`[1 + i/8, 1 + (i+1)/8)`, `A * log2(m) + OFFSET - A * log2(1e-12) - 127 * A` (so `r` is
`t + OFFSET` with `t = log_1.1(|x| / 1e-12)`). Each piece is fitted on a dense grid by
least squares reweighted towards minimax (Lawson's iteration); `Q0` is rounded to float32
first and the other two refitted with it fixed, then `Q1`, then `Q2`. The resulting error
is measured, in float32 with fused multiply-adds, by the crate's tests (not here).

Run: `python scripts/fit_logbin_pieces.py` (numpy only); prints the Rust constants.
"""

from __future__ import annotations

import numpy as np

A32 = float(np.float32(1 / np.log2(1.1)))  # the kernel's A, rounded to f32
A = 1 / np.log2(1.1)
OFFSET = 4097 + 2.0**-10
PIECES = 8


def target(m: np.ndarray) -> np.ndarray:
    return A * np.log2(m) + OFFSET - A * np.log2(1e-12) - 127 * A32


def lawson(x: np.ndarray, y: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Coefficients of `basis` (columns) nearly minimizing the largest error on `x`."""
    w = np.ones_like(x)
    for _ in range(300):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(basis * sw[:, None], y * sw, rcond=None)
        err = np.abs(basis @ c - y)
        w = w * err / (w * err).sum() * len(x) + 1e-300
    return c


def fit_piece(i: int) -> list[float]:
    x = np.linspace(1 + i / PIECES, 1 + (i + 1) / PIECES, 4001)
    y = target(x)
    powers = np.stack([np.ones_like(x), x, x * x], axis=1)
    fixed: list[float] = []  # rounded coefficients, lowest degree first
    for degree in range(3):
        rest = y - sum(c * powers[:, d] for d, c in enumerate(fixed))
        c = lawson(x, rest, powers[:, degree:])
        fixed.append(float(np.float32(c[0])))
    return fixed


def main() -> None:
    coefs = np.array([fit_piece(i) for i in range(PIECES)])
    for degree, name in ((2, "Q2"), (1, "Q1"), (0, "Q0")):
        # numpy's repr of a float32 is the shortest decimal that reads back as it.
        values = ", ".join(str(np.float32(c)) for c in coefs[:, degree])
        print(f"const {name}: [f32; {PIECES}] = [{values}];")


if __name__ == "__main__":
    main()

//! Element types beyond Rust's own: [`half`] holds the only half -> float code in the crate
//! (IEEE binary16 and bfloat16, read in place).

pub mod half;

//! Argument conversion: Python scalars, strings, steps and wall times (`scalars`), and numpy
//! arrays (`arrays`).

pub mod arrays;
mod scalars;

pub use scalars::*;

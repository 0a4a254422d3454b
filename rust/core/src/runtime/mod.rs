//! Process and thread plumbing shared by the writer, the summaries and the reader.
//!
//! * [`fork`]: telling a forked child's copy of an object from the original.
//! * [`parallel`]: the thread pool for data-parallel work, rebuilt in a forked child.

pub(crate) mod fork;
pub(crate) mod parallel;

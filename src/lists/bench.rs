//! The list benchmark.

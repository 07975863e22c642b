//! Parse benchmarks (being written).
fn main() {}

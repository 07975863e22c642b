//! Dissect benchmarks (being written).
fn main() {}

//! Benchmark drivers.

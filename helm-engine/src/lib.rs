//! Helm v3 chart engine (being written).
pub mod value;

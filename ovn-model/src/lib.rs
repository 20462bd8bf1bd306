//! Typed OVN tables (being written).

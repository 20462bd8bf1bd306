//! Declares the `loom` cfg so `RUSTFLAGS="--cfg loom"` builds without unexpected-cfg warnings.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}

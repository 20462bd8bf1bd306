//! Regenerates `ovn-model/src/{nb,sb,vswitch}.rs` from `ovn-model/schemas/`.
//!
//! `cargo run -p ovn-model --example regenerate`, after copying a new schema into `schemas/`.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for source in ovn_model::SCHEMAS {
        let path = src.join(format!("{}.rs", source.module));
        let text = source.generate()?;
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old == text {
            println!("{}: unchanged", path.display());
        } else {
            std::fs::write(&path, text)?;
            println!("{}: rewritten", path.display());
        }
    }
    Ok(())
}

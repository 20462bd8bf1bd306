use super::*;

#[test]
fn generated_code_is_fresh() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stale = Vec::new();
    for source in SCHEMAS {
        let path = src.join(format!("{}.rs", source.module));
        let expected = source.generate().unwrap();
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != expected {
            let line = committed
                .lines()
                .zip(expected.lines())
                .position(|(a, b)| a != b)
                .map_or(
                    committed.lines().count().min(expected.lines().count()),
                    |l| l,
                );
            stale.push(format!(
                "{} differs from what {} generates (first difference at line {})",
                path.display(),
                source.file,
                line + 1
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nrun `cargo run -p ovn-model --example regenerate` and review the diff",
        stale.join("\n")
    );
}

//! Golden test of go-yaml v2's error wording: values files that `helm template -f` (the
//! reference binary, v3.17.3) accepts or refuses, read by our `ValueOptions::merge`; the whole
//! message must match. The reference binary comes from `HELM_BIN`, or
//! `<workspace>/.tools/helm` (`scripts/install-helm .tools` puts it there).

mod support;

const CASES: &[&str] = &[
    "a: b: c\n",
    "a:\n  - b\n  c: d\n",
    "a: [1, 2\n",
    "a: {b: 1\n",
    "a: \"unterminated\n",
    "a: 'x\n",
    "\tb: 1\n",
    "  \t\n",
    "a:\n\tb: 1\n",
    "d:\n  - x\n\t- y\n",
    "a: &x 1\nb: *y\n",
    "a: !!int foo\n",
    "a:\n b: 1\n  c: 2\n",
    "key: value\n  bad: indent\n",
    "a: |\n  x\n y\n",
    "? [a]\n: 1\n",
    "[a, b]: c\n",
    "{a: 1, b: [1, 2.5, null]}: x\n",
    "k:\n  ? [1, \"s\", true]\n  : v\n",
    "%YAML 1.1\n%YAML 1.1\na: 1\n",
    "%YAML 1.1\n# c\n%YAML 1.1\n---\na: 1\n",
    "a: @x\n",
    "a: `x\n",
    "a: 1\n b: 2\n",
    // Quoted scalars over more than one line where a simple key may start: a key libyaml
    // requires goes stale at the closing quote's line; one it may drop meets its `:`. NEL,
    // LS and CR LF break lines too.
    "a: |\n  x\nb: |\n  {\"a\":\"\u{85}\"}\nc: |\n  {\"a\":\" \"}\nd: 1\n",
    "b: |\n  x\u{85}\"y\nc: \"z\n",
    "\"a\u{85}b\": 1\n",
    "x: 1\n\"a\nb\": 1\n",
    "x: 1\n\"a\n\nb\": 1\n",
    "x: 1\n'a\nb': 1\n",
    "x:\n  \"a\n  b\": 1\n",
    "- \"a\n  b\": 1\n",
    "\"a\nb\": 1\n",
    "x: 1\n\"a\u{85}\u{85}b\"\n",
    "x: 1\n\"a\nb\" c\n",
    "x: 1\n\"a\nb\" #c\ny: 2\n",
    "x: 1\n\u{85}y: 2\n\u{85}\"a\nb\": 1\n",
    "x: 1\r\n\"a\r\nb\": 1\r\n",
    "x: 1\n\"a\u{2028}b\": 1\n",
    "x:\n  - \"a\n  b\": 1\n",
    "- a: 1\n  \"b\n  c\": 1\n",
    // A tab that starts a line where libyaml looks for a token (after a comment, a quoted
    // scalar, a flow collection, a block scalar, a tag) cannot start one; after a plain
    // scalar the scalar's own scan meets it.
    "a: 1\n#x\n\tb: 1\n#y\n",
    "a: 1 # c\n\tb: 1\n",
    "a: 'x'\n\tb: 1\n",
    "a: \"x\"\n  \tb: 1\n",
    "a: [1]\n\tb: 1\n",
    "a: |\n  x\n\tb: 1\n",
    "- a\n#c\n\t- b\n",
    "a:\n  b: 1\n  #c\n  \tc: 2\n",
    "a: 1\n#c\n\t\n",
    "a: 1\n#c\n  \t\nb: 2\n",
    "a: 1\n#c\n \t# d\nb: 2\n",
    "a: !t\n\tb\n",
    "a: &x\n\tb: 1\n",
    "a: {x: 1,\n\ty: 2}\n",
    "a: 'x\n\ty'\n",
    "a: 1\n---\n#c\n\tb: 1\n",
    "a:\n  - x\n  -\ty\n",
    "- \tx\n",
    "-\t- x\n",
    "? \tx\n: 1\n",
    // Flow collections: a key over more than one line goes stale; lines less indented than
    // the block around them are fine to libyaml.
    "x: 1\n[a,\nb]: 1\n",
    "x: 1\n{a: 1,\nb: 2}: 1\n",
    "x: 1\n[a, # c\n# d\nb]: 1\n",
    "a: [1,\n2]\n",
    "- [a,\nb]\n",
    // go-yaml parses the whole first document before decoding it: a syntax error there
    // comes before a tag, merge or key type error; what follows the first document's node
    // and starts no document is never parsed; a `:` with no key finds none.
    "'2001-12-14':1:20'\n",
    "      - 1e\nk:\n  -\n",
    "9223372036854775808: a\n18446744073709551616:b\n-92233720354775809: c\n",
    ": \"x\"\n",
    "a: !!int x\nb: [\n",
    "a: {<<: 1}\nb: [\n",
    "~: 1\nb: [\n",
    "[a]: 1\n~: 2\n",
    "~: 1\n[a]: 2\n",
    "a: !!int x\n18446744073709551615: 1\n",
    "18446744073709551615: 1\na: !!int x\n",
    "[a]: 1\nb: c: d\n",
    "a: !!binary '@'\nb: 'x\n",
    "x: 1\n: 2\n",
    // Accepted by both.
    "a:\t1\n",
    "\u{e9}\u{e9}\u{e9}: \u{2713}\na:\t1\n",
    "b:\t\n  c:\t{x:\t1}\n- z\n",
    "- a:\tb\n  c:\t\"d:\te\"\n",
    "m: |\n  k:\tv\nn:\t2\n",
    "a: \t1\n",
    "a: 1\t# c\n",
    "b: |\n  x\n  \ty\n",
    "c: [1,\t2]\n",
    "a: 1\na: 2\n",
];

#[test]
fn values_file_errors_are_worded_as_go_yaml_words_them() {
    let failures = support::values_file_mismatches(
        CASES
            .iter()
            .map(|text| (format!("{text:?}"), text.as_bytes().to_vec())),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

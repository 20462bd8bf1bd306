use super::*;

fn y(s: &str) -> Value {
    from_yaml(s).unwrap()
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

#[test]
fn yaml11_scalars_resolve_like_go_yaml_v2() {
    let v = y(
        "a: yes\nb: off\nc: y\nd: ~\ne: 010\nf: 0x1F\ng: 1_000\nh: 1e3\ni: .5\nj: 2001-01-01\nk: '1'\nl: 08\n",
    );
    let Value::Map(m) = v else { panic!() };
    assert_eq!(m["a"], Value::Bool(true));
    assert_eq!(m["b"], Value::Bool(false));
    assert_eq!(m["c"], Value::Bool(true));
    assert_eq!(m["d"], Value::Nil);
    assert_eq!(m["e"], Value::Float(8.0));
    assert_eq!(m["f"], Value::Float(31.0));
    assert_eq!(m["g"], Value::Float(1000.0));
    assert_eq!(m["h"], Value::Float(1000.0));
    assert_eq!(m["i"], Value::Float(0.5));
    assert_eq!(m["j"], Value::String("2001-01-01".into()));
    assert_eq!(m["k"], Value::String("1".into()));
    assert_eq!(m["l"], Value::Float(8.0));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let v = y("base: &b {x: 1, z: 2}\nother:\n  <<: *b\n  z: 3\nlist: [*b]\n");
    let Value::Map(m) = v else { panic!() };
    assert_eq!(
        m["other"],
        map(&[("x", Value::Float(1.0)), ("z", Value::Float(3.0))])
    );
    assert!(matches!(&m["list"], Value::List(l) if l.len() == 1));
}

#[test]
fn block_scalars_and_quoting() {
    let v = y("a: |\n  line1\n  line2\nb: >-\n  folded\n  text\nc: \"tab\\there\"\n");
    let Value::Map(m) = v else { panic!() };
    assert_eq!(m["a"], Value::String("line1\nline2\n".into()));
    assert_eq!(m["b"], Value::String("folded text".into()));
    assert_eq!(m["c"], Value::String("tab\there".into()));
}

#[test]
fn malformed_yaml_is_an_error_with_a_line() {
    // The plain scalar `2 b` spans lines: its key went stale, and the parser meets the `:`
    // where a `,` belongs (helm 3.17.3's wording).
    let e = from_yaml("a: [1, 2\nb: 3\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'"
    );
    let e = from_yaml("a: [1, 2\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'"
    );
    assert!(from_yaml("a: b: c\n").is_err());
}

#[test]
fn to_yaml_sorts_keys_and_does_not_indent_lists_under_keys() {
    let v = map(&[
        (
            "b",
            Value::List(vec![Value::Int(1), Value::String("x".into())]),
        ),
        ("a", map(&[("c", Value::Bool(true))])),
        ("a10", Value::Nil),
        ("a9", Value::Float(1000000.0)),
    ]);
    assert_eq!(
        to_yaml(&v).unwrap(),
        "a:\n  c: true\na9: 1000000\na10: null\nb:\n- 1\n- x"
    );
}

#[test]
fn to_yaml_quotes_strings_that_would_resolve_to_other_types() {
    for (s, want) in [
        ("yes", "\"yes\""),
        ("1.0", "\"1.0\""),
        ("on", "\"on\""),
        ("", "\"\""),
        ("null", "\"null\""),
        ("2001-01-01", "\"2001-01-01\""),
        ("1:20", "\"1:20\""),
        ("plain", "plain"),
        ("- x", "'- x'"),
        ("a: b", "'a: b'"),
        (" lead", "' lead'"),
        ("tab\there", "\"tab\\there\""),
    ] {
        assert_eq!(to_yaml(&Value::String(s.into())).unwrap(), want, "{s:?}");
    }
}

#[test]
fn to_yaml_multiline_strings_use_literal_style() {
    let v = map(&[("k", Value::String("a\nb".into()))]);
    assert_eq!(to_yaml(&v).unwrap(), "k: |-\n  a\n  b");
    let v = map(&[("k", Value::String("a\nb\n".into()))]);
    assert_eq!(to_yaml(&v).unwrap(), "k: |\n  a\n  b");
    let v = map(&[("k", Value::String("a \nb".into()))]);
    assert_eq!(to_yaml(&v).unwrap(), "k: \"a \\nb\"");
}

#[test]
fn to_yaml_floats_follow_json_then_go_yaml() {
    assert_eq!(to_yaml(&Value::Float(1.5)).unwrap(), "1.5");
    assert_eq!(to_yaml(&Value::Float(1e21)).unwrap(), "1e+21");
    assert_eq!(to_yaml(&Value::Float(0.000001)).unwrap(), "1e-06");
    assert_eq!(
        to_yaml(&Value::Float(123456789.5)).unwrap(),
        "1.234567895e+08"
    );
    assert!(to_yaml(&Value::Float(f64::NAN)).is_err());
}

#[test]
fn go_float_formatting() {
    assert_eq!(format_float_g(1000000.0), "1e+06");
    assert_eq!(format_float_g(123456.0), "123456");
    assert_eq!(format_float_g(0.0001), "0.0001");
    assert_eq!(format_float_g(0.00001), "1e-05");
    assert_eq!(format_float_g(-2.5), "-2.5");
    assert_eq!(format_float_g(0.0), "0");
    assert_eq!(json_float(1e-7), "1e-7");
    assert_eq!(json_float(100.0), "100");
    assert_eq!(format_float_g32(1.1), "1.1");
}

#[test]
fn long_plain_strings_fold_at_80_columns() {
    let words = vec!["word"; 30].join(" ");
    let v = map(&[("k", Value::String(words))]);
    let out = to_yaml(&v).unwrap();
    assert!(out.contains("\n  word"), "{out}");
    for line in out.lines() {
        assert!(line.len() <= 86, "{line}");
    }
}

#[test]
fn yaml11_boolean_keys_become_strings() {
    let Value::Map(m) = y("y: 1\non: 2\n") else {
        panic!()
    };
    assert_eq!(m.keys().collect::<Vec<_>>(), vec!["true"]);
}

#[test]
fn control_characters_are_refused_as_libyamls_reader_refuses_them() {
    for bad in [
        "a: \"x\u{7f}\"\n",
        "a: x\u{1}\n",
        "a: \u{90}\n",
        "a: \u{fffe}\n",
    ] {
        let e = from_yaml(bad).unwrap_err().to_string();
        assert!(
            e.ends_with("error converting YAML to JSON: yaml: control characters are not allowed"),
            "{bad:?}: {e}"
        );
    }
    for good in ["a: \"\\x7f\"\n", "a: \u{a0}\u{1F600}\n", "a:\tb\r\n"] {
        assert!(from_yaml(good).is_ok(), "{good:?}");
    }
}

#[test]
fn negative_zero_keeps_its_sign_in_json_only() {
    assert_eq!(json_float(-0.0), "-0");
    assert_eq!(
        to_yaml(&y("m: -0.0\n")).unwrap(),
        "m: 0",
        "go-yaml reads the JSON -0 back as the integer 0"
    );
}

#[test]
fn quoted_scalars_skip_tabs_and_short_indents_on_continuation_lines() {
    let v = y("a: \"x\n\ty\"\nk:\n  b: 'x\ny'\n  c: \"x \t\n\t\tz\"\n");
    assert_eq!(
        to_yaml(&v).unwrap(),
        "a: x y\nk:\n  b: x y\n  c: x z",
        "libyaml drops the leading blanks of continuation lines"
    );
    // A tab used as block indentation stays an error.
    assert!(from_yaml("a: x\n\ty\n").is_err());
    let e = from_yaml("b: 1\na: \"x\n  y\\/\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("yaml: line 3: found unknown escape character"),
        "{e}"
    );
    let e = from_yaml("~: [1, x]\n").unwrap_err().to_string();
    assert!(
        e.ends_with("key: <nil>, value: []interface {}{1, \"x\"}"),
        "{e}"
    );
}

#[test]
fn nel_folds_like_a_line_break_through_the_json_leg() {
    let v = Value::List(vec![
        Value::String("x\u{85}y".into()),
        Value::String("x \u{85}\u{85} y".into()),
        Value::String("\u{85}x".into()),
    ]);
    assert_eq!(to_yaml(&v).unwrap(), "- x y\n- |-\n  x\n  y\n- ' x'");
    assert!(to_yaml(&map(&[("k\u{85}x", Value::Nil)])).is_err());
}

#[test]
fn tags_directives_and_self_aliases_as_go_yaml_v2_reads_them() {
    assert_eq!(
        y("a: !custom 1\nb: ! 2\n"),
        map(&[
            ("a", Value::String("1".into())),
            ("b", Value::String("2".into()))
        ])
    );
    let e = from_yaml("# c\n%YAML 1.2\n---\na: 1\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("yaml: line 1: found incompatible YAML document"),
        "{e}"
    );
    assert!(from_yaml("a: 1\n...\n%YAML 2.0\n---\nb: 1\n").is_ok());
    let e = from_yaml("a: &x [1, *x]\n").unwrap_err().to_string();
    assert!(e.ends_with("yaml: anchor 'x' value contains itself"), "{e}");
}

#[test]
fn byte_order_marks_are_content_after_the_start_of_the_stream() {
    assert_eq!(y("\u{feff}a: 1\n"), map(&[("a", Value::Float(1.0))]));
    // The second is skipped too: go-yaml's decoded buffer starts with it.
    assert_eq!(
        y("\u{feff}\u{feff}a: 1\n"),
        map(&[("a", Value::Float(1.0))])
    );
    assert_eq!(
        y("a: 1\n\u{feff}b: x\u{feff}y\n"),
        map(&[
            ("a", Value::Float(1.0)),
            ("\u{feff}b", Value::String("x\u{feff}y".into()))
        ])
    );
    assert_eq!(
        y("a: \"\u{feff}q\"\n"),
        map(&[("a", Value::String("\u{feff}q".into()))])
    );
}

#[test]
fn a_string_starting_with_a_byte_order_mark_has_every_character_escaped() {
    // go-yaml's is_bom looks at the start of the value.
    let v = map(&[("a", Value::String("\u{feff}x y".into()))]);
    assert_eq!(to_yaml(&v).unwrap(), "a: \"\\uFEFF\\x78\\x20\\x79\"");
    let v = map(&[("a", Value::String("x\u{feff}y".into()))]);
    assert_eq!(to_yaml(&v).unwrap(), "a: \"x\\uFEFFy\"");
}

#[test]
fn nel_ls_and_ps_break_lines_as_go_yaml_reads_them() {
    for brk in ['\u{85}', '\u{2028}', '\u{2029}'] {
        assert_eq!(
            y(&format!("a: 1{brk}b: 2\n")),
            map(&[("a", Value::Float(1.0)), ("b", Value::Float(2.0))]),
            "{brk:?}"
        );
    }
    // A NEL folds like `\n`; LS and PS stay in the content where `\n` would fold.
    assert_eq!(
        y("a: x\u{85}  y\n"),
        map(&[("a", Value::String("x y".into()))])
    );
    assert_eq!(
        y("a: 'x\u{2028}y'\n"),
        map(&[("a", Value::String("x\u{2028}y".into()))])
    );
    assert_eq!(
        y("a: \"x  \u{2028}\u{2028}  y\"\n"),
        map(&[("a", Value::String("x\u{2028}\u{2028}y".into()))])
    );
    assert_eq!(
        y("a: |\n  x\u{2028}  y\n"),
        map(&[("a", Value::String("x\u{2028}y\n".into()))])
    );
    assert_eq!(
        y("a: |\n  x\u{85}  y\n"),
        map(&[("a", Value::String("x\ny\n".into()))])
    );
    // A comment ends at a NEL; CR then NEL are two breaks.
    assert_eq!(
        y("a: 1 # c\u{85}b: 2\n"),
        map(&[("a", Value::Float(1.0)), ("b", Value::Float(2.0))])
    );
    assert_eq!(
        y("a: \"x\r\u{85}y\"\n"),
        map(&[("a", Value::String("x\ny".into()))])
    );
}

#[test]
fn merge_keys_tags_and_stray_document_ends_as_go_yaml_v2() {
    assert_eq!(
        y("a:\n  !!merge <<: {x: 1}\n"),
        map(&[("a", map(&[("x", Value::Float(1.0))]))])
    );
    assert_eq!(
        from_yaml("a: &a 1\nb:\n  <<: *a\n")
            .unwrap_err()
            .to_string(),
        "error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"
    );
    assert_eq!(
        from_yaml("...\n").unwrap_err().to_string(),
        "error converting YAML to JSON: yaml: did not find expected node content"
    );
    assert_eq!(
        from_yaml("# c\n...\n").unwrap_err().to_string(),
        "error converting YAML to JSON: yaml: line 1: did not find expected node content"
    );
    assert_eq!(
        from_yaml("9223372036854775808: a\n")
            .unwrap_err()
            .to_string(),
        "error converting YAML to JSON: unsupported map key of type: uint64, key: 0x8000000000000000, value: \"a\""
    );
}

#[test]
fn the_reader_refuses_bad_encodings_first_come_first_served() {
    let e = |b: &[u8]| decode_yaml_bytes(b).unwrap_err().to_string();
    let head = "error converting YAML to JSON: yaml: ";
    assert_eq!(
        e(b"a: \xff\n"),
        format!("{head}invalid leading UTF-8 octet")
    );
    assert_eq!(
        e(b"a: \xc3\x28\n\x01"),
        format!("{head}invalid trailing UTF-8 octet")
    );
    assert_eq!(
        e(b"a: \x01\xff\n"),
        format!("{head}control characters are not allowed")
    );
    assert_eq!(
        e(b"a: \xc3"),
        format!("{head}incomplete UTF-8 octet sequence")
    );
    assert_eq!(
        e(b"a: \xc0\xaf\n"),
        format!("{head}invalid length of a UTF-8 sequence")
    );
    assert_eq!(
        e(b"a: \xed\xa0\x80\n"),
        format!("{head}invalid Unicode character")
    );
    assert_eq!(
        e(b"\xfe\xffa: 1\n"),
        format!("{head}incomplete UTF-16 character")
    );
    assert_eq!(
        decode_yaml_bytes(b"\xff\xfea\x00:\x00 \x001\x00").unwrap(),
        "a: 1"
    );
}

#[test]
fn an_overflowing_float_stays_a_string_as_go_parse_float_refuses_it() {
    assert_eq!(
        y("a: 1e400\n"),
        map(&[("a", Value::String("1e400".into()))])
    );
    assert_eq!(y("a: 1e-400\n"), map(&[("a", Value::Float(0.0))]));
    assert_eq!(
        from_yaml("a: !!float 1e400\n").unwrap_err().to_string(),
        "error converting YAML to JSON: yaml: cannot decode !!str `1e400` as a !!float"
    );
}

#[test]
fn a_tab_in_a_block_scalars_detected_indentation_is_refused() {
    let tab = "found a tab character where an indentation space is expected";
    assert_eq!(
        from_yaml("a: |\n  \tx\n").unwrap_err().to_string(),
        format!("error converting YAML to JSON: yaml: line 2: {tab}")
    );
    assert_eq!(
        from_yaml("a: >- # c\n\n  \t\n  x\n")
            .unwrap_err()
            .to_string(),
        format!("error converting YAML to JSON: yaml: line 3: {tab}")
    );
    // Once the indentation is known, a tab after it is content.
    assert_eq!(
        y("b: |\n  x\n  \ty\n"),
        map(&[("b", Value::String("x\n\ty\n".into()))])
    );
}

#[test]
fn a_key_longer_than_libyamls_simple_key_limit_is_refused() {
    let long = "k".repeat(1100);
    assert_eq!(
        from_yaml(&format!("{long}: 1\n")).unwrap_err().to_string(),
        "error converting YAML to JSON: yaml: mapping values are not allowed in this context"
    );
    assert_eq!(
        from_yaml(&format!("a: 1\n{long}: 1\n"))
            .unwrap_err()
            .to_string(),
        "error converting YAML to JSON: yaml: line 2: could not find expected ':'"
    );
    let ok = "k".repeat(1000);
    assert!(from_yaml(&format!("{ok}: 1\n")).is_ok());
}

#[test]
fn go_strings_keep_raw_bytes_for_the_reader() {
    // UTF-16 after its byte-order mark, as `.Files.Get` hands it to `fromYaml` in Helm.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("a: 1\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let s = go_string(&utf16);
    assert_eq!(go_bytes(&s).as_ref(), utf16.as_slice());
    assert_eq!(y(&s), map(&[("a", Value::Float(1.0))]));
    // Broken UTF-8 fails with libyaml's reader error, not as a replacement character.
    let broken = go_string(b"a: \xc3(\n");
    assert_eq!(
        from_yaml(&broken).unwrap_err().to_string(),
        "error converting YAML to JSON: yaml: invalid trailing UTF-8 octet"
    );
    // Pieces of one character put back together read as that character.
    let joined = go_string(b"a: \xc3") + &go_string(b"\xa9\n");
    assert_eq!(y(&joined), map(&[("a", Value::String("\u{e9}".into()))]));
    // Valid UTF-8 is unchanged.
    assert_eq!(go_string("x\u{e9}\u{0}".as_bytes()), "x\u{e9}\u{0}");
}

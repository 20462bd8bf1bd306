//! Golden test of the `format` keyword: for each (format, list of strings), `helm template` (the
//! reference binary, v3.17.3) and our engine validate `v: [...]` against
//! `{"properties": {"v": {"type": "array", "items": {"format": F}}}}`, and must refuse the same
//! items with the same message. gojsonschema's checkers are Go's `net/mail.ParseAddress`,
//! `net.ParseIP`, `time.Parse`, `net/url.Parse` and `regexp.Compile`, so the lists probe their
//! corners. Helm orders the lines of different properties at random; within one property they
//! keep item order, and there is one property here. The reference binary comes from `HELM_BIN`,
//! or `<workspace>/.tools/helm` (`scripts/install-helm .tools` puts it there).

use helm_engine::render::{RenderOptions, template};
use helm_engine::values::ValueOptions;
use std::path::Path;
use std::process::Command;

mod support;
use support::helm_bin;

/// (format, YAML flow list of probe strings).
const CASES: &[(&str, &str)] = &[
    (
        "ipv4",
        r##"["1.2.3.4", "01.2.3.4", "1.2.3", "256.1.1.1", "::ffff:1.2.3.4", "1.2.3.4 ", "::1", "0.0.0.0", "1.2.3.04", "1.2.3.4.5", "::1.2.3.4", "fe80::1%eth0", "a.b.c.d"]"##,
    ),
    (
        "ipv6",
        r##"["::1", "1.2.3.4", "::ffff:1.2.3.4", "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:8::", "::", "fe80::1%eth0", "12345::", "1::2::3", "0001:2:3:4:5:6:7:8", "::01.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", ":1::", "[::1]", "1:2:3:4:5:6:7:8", "::FFFF:1.2.3.4", "::ffff:1.2.3"]"##,
    ),
    (
        "date",
        r##"["2024-01-01", "2024-02-29", "2023-02-29", "2024-1-01", "24-01-01", "2024-01-01T00:00:00Z", "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32", " 2024-01-01", "+2024-01-01"]"##,
    ),
    (
        "time",
        r##"["12:00:00", "1:00:00", "12:00:00Z", "12:00:00+01:00", "12:00:00.5", "12:00:00,5", "24:00:00", "23:59:60", "12:0:00", "12:00", "12:00:00z", "12:00:00+0100", "12:00:00.123456789Z", "12:00:00.Z", "12:00:00+25:00", "12:00:00+24:00", "12:00:00+01:60", "12:00:00+01:61", "12:00:00-00:00", "12:00:00.1234567891"]"##,
    ),
    (
        "time",
        r##"["1:2:03", "01:02:03.", "01:02:03.+01:00", "01:02:03Z+01:00", "01:02:03+01:00Z", "01:02:03+1:00", "01:02:03+01:0a", "01:02:03 +01:00", "00:00:00+00:00"]"##,
    ),
    (
        "date-time",
        r##"["2024-01-01T00:00:00Z", "2024-01-01", "12:00:00", "12:00:00Z", "2024-01-01t00:00:00z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T1:00:00Z", "2024-01-01T00:00:00.5+01:00", "2024-01-01T00:00:00,5Z", "2024-02-30T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z", "2024-01-01T00:00:00+2400", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+25:00", "2024-01-01T00:00:00.Z", "10000-01-01T00:00:00Z", "2024-01-01T00:00:00Zjunk"]"##,
    ),
    (
        "date-time",
        r##"["2024-01-01T00:00:00.999999999999Z", "0000-01-01T00:00:00Z", "2024-12-31T23:59:59-24:00", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z"]"##,
    ),
    (
        "hostname",
        r##"["a", "a.b", "-a", "a-", "a_b", "a..b", "a.b.", "é.com", "", "1.2.3.4", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b", "A-B.c"]"##,
    ),
    (
        "uri",
        r##"["http://a", "a", "/x", "http://a b", "http://[::1]:80/", "http://a:port/", "http://a/%zz", "http://a/%41", "mailto:x@y", "1http://a", "http:", ":x", "http://a\\b", "http://a/#f%zz", "http://a/?q=%zz", "http://u:p@a/", "http://u@p@a/", "http://a%20b/", "HTTP://A", "a+b-c.d:x", "x:/ y", "http://a/\u0001", "http://[::1/", "http://a:80x/", "http://a:/", "http://[fe80::1%25eth0]/", "http://a{b}/", "x:y%"]"##,
    ),
    (
        "uri",
        r##"["http://[zz]/", "http://[::1]x/", "http://a]/", "http://a/b?c#d", "*", "http:///x", "http://a#b#c", "http://%41/", "http://%c3%a9/", "http://[::1%25en0]/", "http://[::1%25%41]/", "http://[::1%25%c3]/", "http://u%zz@a/", "http://u:p%zz@a/", "http://ü/", "http://a b@c/", "a:b:c", "http://a:8080:90/", "http://a\u007f/", "http://a/#\u0001", "foo://", "x:", "http://a?", "http://a??"]"##,
    ),
    (
        "uri-reference",
        r##"["a", "/x", "", "a:b", "1a:b", "./a:b", "%zz", "a b", "http://a\\b", "#f", "?q", "//h/p", "//h:x/p"]"##,
    ),
    (
        "uri-reference",
        r##"["///a", "//a b", "a/b:c", "?:", "a?b:c", "#:", "//u@h", "*", "a%", "%4"]"##,
    ),
    (
        "uri-template",
        r##"["http://a/{x}", "http://a/{x", "http://a/}x{", "{x}{y}", "a%zz", "http://a/{x}}"]"##,
    ),
    (
        "uri-template",
        r##"["a:{x", "/{x}/{y", "//a/{{x}}", "/%7Bx", "/%7B"]"##,
    ),
    (
        "uuid",
        r##"["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000", "123e4567e89b12d3a456426614174000", "{123e4567-e89b-12d3-a456-426614174000}", "123e4567-e89b-12d3-a456-42661417400"]"##,
    ),
    (
        "regex",
        r##"["a+", "(", "", "a{1001}", "a**", "\\C", "(?P<n>a)", "(?<n>a)", "\\pL", "[[:alpha:]]", "\\Z", "a{2,1}", "(?i)a", "(?U)a", "\\b", "x*?", "\\8", "(?=a)", "\\Q.\\E", "[a-\\d]", "\\z"]"##,
    ),
    (
        "regex",
        r##"["a{", "a{,5}", "^*", "(?x)a", "(?u)a", "\\12", "\\0", "\\1", "a{2}{3}", "a*?*", "a+?", "(a{100}){100}", "(a{10}){100}", "\\e", "\\<", "[\\b]", "(?P<1a>x)", "\\p{Alphabetic}", "\\p{Greek}", "a{1000}", "x{1000,}", "(?s-m:a)", "(?-)", "(?i-)", "(?<1>a)", "\\x{10FFFF}", "[[:foo:]]", "\\Qa", "a\\E", "\\Q\\E*", "(?i)(?U)", "a|*", "\\_", "\\q", "\\-", "(?:a*)*", "a{2}?", "a{2}?*", "[a", "\\", "a)", "(a", "\\Q[\\E", "[\\Q]\\E]", "\\pZ", "\\PZ", "\\p{^Greek}", "\\P{^Greek}", "[\\p{Greek}]", "\\d\\D\\w\\W\\s\\S", "[^\\x00-\\x{10FFFF}]", "\\x", "\\x1", "\\x{}", "\\v", "\\f\\a", "(?m)$^", "\\b\\B"]"##,
    ),
    (
        "json-pointer",
        r##"["", "/", "/a/b", "a", "/~0/~1", "/~2", "/~"]"##,
    ),
    (
        "relative-json-pointer",
        r##"["0", "1#", "0/a", "01", "-1", "1/~2", "", "#"]"##,
    ),
    (
        "email",
        r##"["a@b", "a@b.c", "nope", "a@", "@b", "a b@c", "A <a@b.c>", "\"A B\" <a@b.c>", "<a@b.c>", "a@b.c (comment)", "a@b.c (unclosed", "a..b@c", ".a@c", "a.@c", "a@b..c", "a@.b", "a@b.", "\"a b\"@c", "\"\"@c", "a@[1.2.3.4]", "grp: a@b.c;", "grp: a@b.c, d@e.f;", "grp:;", "a@b.c, d@e.f", " a@b.c ", "a@b.c\t", "é@ü.de", "a@b.c<a@b.c>", "a+tag@b-c.d", "!#$%&'*+-/=?^_`{|}~@x", "a(b)@c", "a@b(c)", "=?utf-8?q?J=C3=B6rg?= <a@b.c>", "=?foo?q?x?= <a@b.c>", "a@b.c (=?foo?q?x?=)", "A.B <a@b.c>", "A, B <a@b.c>", "a@b.c d", "\"x\\\" y\" <a@b.c>", "<a@b.c", "a\\b@c", "a@b@c", "a@b:c", "", " ", "a@b.c ()", "a@b.c (a)(b)", "(c) a@b.c", "Name <a@b.c> (c)", "Name (c) <a@b.c>"]"##,
    ),
    (
        "email",
        r##"["a@[IPv6:::1]", "a@[::1]", "a@[::ffff:1.2.3.4]", "a@[1.2.3]", "a@[IPv6:1.2.3.4]", "a@ [1.2.3.4]", "a @b", "a@ b", "\"a\\\"b\"@c", "\"a\\\u0001b\"@c", "x =?foo?q?x?= <a@b>", "=?utf-8?b?QQ==?= <a@b>", "=?utf-8?b?QQ?= <a@b>", "=?foo?b?QQ==?= <a@b>", "=?foo?b?QQ?= <a@b>", "=?foo?z?x?= <a@b>", "=?foo?q?=4?= <a@b>", "a@b (x\\)", "a@b (x\\)y)", "a@b ((x))", "a@b (x", "<a@b> x", "g: a@b (c);", "g: (x) a@b;", "g:a@b;x", "\"\" <a@b>", "a.\"b\"@c", "<@b>", "<a@b >", "< a@b>", "a@b.c.", "A\tB <a@b>"]"##,
    ),
    // Values whose JSON text go-yaml's reader refuses (DEL, C1 controls, U+FFFE): Helm's
    // schema check fails on its own YAML round trip before any keyword.
    ("uri", r#"["a\u007fb"]"#),
    ("date", r#"["\u0001", "\u0085", "\u0090", "\ufffe"]"#),
];

fn ours(chart: &Path, values_file: &Path) -> String {
    let values = ValueOptions {
        value_files: vec![(
            values_file.display().to_string(),
            std::fs::read(values_file).expect("values"),
        )],
        ..Default::default()
    }
    .merge()
    .expect("values");
    let loaded = helm_engine::chart::load(chart).expect("chart");
    match template(loaded, &values, &RenderOptions::default()) {
        Ok(out) => out,
        Err(e) => format!("Error: {e}\n"),
    }
}

#[test]
fn formats_pass_and_fail_as_gojsonschema_decides() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (i, (format, list)) in CASES.iter().enumerate() {
        let chart = dir.path().join(format!("c{i}"));
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(
            chart.join("Chart.yaml"),
            "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        )
        .unwrap();
        std::fs::write(chart.join("templates/cm.yaml"), "n: {{ len .Values.v }}\n").unwrap();
        std::fs::write(
            chart.join("values.schema.json"),
            format!(
                r#"{{"properties": {{"v": {{"type": "array", "items": {{"format": "{format}"}}}}}}}}"#
            ),
        )
        .unwrap();
        let values = dir.path().join(format!("v{i}.yaml"));
        std::fs::write(&values, format!("v: {list}\n")).unwrap();
        let out = Command::new(helm_bin())
            .arg("template")
            .arg(&chart)
            .arg("-f")
            .arg(&values)
            .env("HOME", dir.path())
            .output()
            .expect("run helm");
        let helm = if out.status.success() {
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        let ours = ours(&chart, &values);
        if helm != ours {
            failures.push(format!(
                "{format} {list}\n  helm: {helm:?}\n  ours: {ours:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

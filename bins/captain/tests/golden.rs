//! Golden tests: `helm template` (the reference binary, v3.17.3) and `captain template` render the
//! same charts with the same flags, and their outputs must be byte-identical (after normalising
//! what varies per run in Helm too: generated keys and certificates, UUIDs, dates).
//!
//! Cases live in `helm-engine/tests/golden-cases.txt` (charts in `helm-engine/tests/charts/`), in
//! `bins/captain/tests/golden_cases.txt` (charts in `bins/captain/tests/charts/`), and the real
//! charts in `shared/charts`. Each case runs from the directory of its cases file. The reference binary comes from `HELM_BIN`, or
//! `<workspace>/.tools/helm` (`scripts/install-helm .tools` puts it there).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn helm_bin() -> PathBuf {
    let p = match std::env::var_os("HELM_BIN") {
        Some(p) => PathBuf::from(p),
        None => workspace().join(".tools/helm"),
    };
    assert!(
        p.is_file(),
        "the reference helm binary is missing at {}: run `scripts/install-helm .tools` or set HELM_BIN",
        p.display()
    );
    p
}

fn shared_charts() -> PathBuf {
    let beside = workspace().join("../shared/charts");
    if beside.is_dir() {
        return beside;
    }
    PathBuf::from("/work/shared/charts")
}

fn tests_dir() -> PathBuf {
    workspace().join("helm-engine/tests")
}

fn captain_tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// One golden case: a chart and the flags both tools get, run from `dir`.
#[derive(Clone, Debug)]
struct Case {
    line: String,
    args: Vec<String>,
    dir: PathBuf,
    /// The line started with `= `: when helm fails, captain's stderr must be helm's, word for
    /// word (not only the same kind of error).
    exact: bool,
    /// A `<FILE` word: both tools read that file (relative to `dir`) on standard input, for
    /// `-f -` and `--set-file key=-`. Without one, standard input is empty.
    stdin: Option<PathBuf>,
}

fn load_cases(file: &str) -> Vec<Case> {
    load_cases_in(&tests_dir(), file)
}

fn load_cases_in(dir: &Path, file: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(dir.join(file)).expect("cases file");
    let shared = shared_charts();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (exact, args) = match l.strip_prefix("= ") {
                Some(rest) => (true, rest),
                None => (false, l),
            };
            let mut words = split_args(args);
            let stdin = words
                .iter()
                .position(|w| w.starts_with('<'))
                .map(|i| dir.join(&words.remove(i)[1..]));
            Case {
                dir: dir.to_path_buf(),
                line: l.to_string(),
                args: words
                    .into_iter()
                    .map(|a| a.replace("$SHARED", &shared.display().to_string()))
                    .collect(),
                exact,
                stdin,
            }
        })
        .collect()
}

/// Splits on whitespace, keeping single-quoted parts together (quotes removed).
fn split_args(l: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in l.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn run(bin: &Path, sub: &[&str], case: &Case) -> Output {
    let stdin = match &case.stdin {
        Some(p) => std::fs::File::open(p)
            .unwrap_or_else(|e| panic!("{}: stdin {}: {e}", case.line, p.display()))
            .into(),
        None => std::process::Stdio::null(),
    };
    Command::new(bin)
        .stdin(stdin)
        .args(sub)
        .args(&case.args)
        .current_dir(&case.dir)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()))
}

fn normalise(s: &str) -> String {
    let pem = regex::Regex::new(r"-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----").unwrap();
    let b64 = regex::Regex::new(r"[A-Za-z0-9+/]{60,}={0,2}").unwrap();
    let uuid =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
            .unwrap();
    // bcrypt hashes carry a random salt.
    let bcrypt = regex::Regex::new(r"\$2a\$10\$[./A-Za-z0-9]{53}").unwrap();
    let s = bcrypt.replace_all(s, "<bcrypt>");
    let s = pem.replace_all(&s, "<pem>");
    let s = b64.replace_all(&s, "<b64>");
    uuid.replace_all(&s, "<uuid>").into_owned()
}

fn first_difference(a: &str, b: &str) -> String {
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    let n = al.iter().zip(&bl).take_while(|(x, y)| x == y).count();
    let from = n.saturating_sub(3);
    let mut out = format!("first difference at line {}:\n", n + 1);
    for (i, l) in al.iter().enumerate().skip(from).take(8) {
        out.push_str(&format!("  helm    {:5}: {l}\n", i + 1));
    }
    for (i, l) in bl.iter().enumerate().skip(from).take(8) {
        out.push_str(&format!("  captain {:5}: {l}\n", i + 1));
    }
    if a.len() != b.len() && n == al.len().min(bl.len()) {
        out.push_str(&format!("  (lengths {} vs {})\n", a.len(), b.len()));
    }
    out
}

/// Runs every case on two worker threads; returns the failures' reports.
fn run_cases(
    cases: Vec<Case>,
    check: fn(&Case, &Output, &Output) -> Option<String>,
) -> Vec<String> {
    let helm = helm_bin();
    let captain = PathBuf::from(env!("CARGO_BIN_EXE_captain"));
    // Workers pop from the end: reverse so that the slow real charts listed first start first.
    let mut cases = cases;
    cases.reverse();
    let queue = Mutex::new(cases);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let h = run(&helm, &["template"], &case);
                    let c = run(&captain, &["template"], &case);
                    if let Some(report) = check(&case, &h, &c) {
                        failures.lock().unwrap().push(report);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// Output bytes as text that keeps every byte: each byte that is not part of valid UTF-8 is
/// written `\xNN` (a lossy conversion would let different invalid bytes compare equal).
fn exact_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn same_output(case: &Case, h: &Output, c: &Output) -> Option<String> {
    let hs = normalise(&exact_text(&h.stdout));
    let cs = normalise(&exact_text(&c.stdout));
    let herr = String::from_utf8_lossy(&h.stderr);
    let cerr = String::from_utf8_lossy(&c.stderr);
    if h.status.code() != c.status.code() {
        return Some(format!(
            "{}: exit status helm {:?} captain {:?}\n  helm stderr: {}\n  captain stderr: {}",
            case.line,
            h.status.code(),
            c.status.code(),
            herr.trim(),
            cerr.trim()
        ));
    }
    if !h.status.success() {
        // Both failed: the kind of error must match, as for the bad-input cases.
        return failure_check(case)(case, h, c);
    }
    if hs != cs {
        return Some(format!("{}: {}", case.line, first_difference(&hs, &cs)));
    }
    // What helm logs while rendering (deprecation, coalesce warnings, skipped hooks) is part
    // of the output. Compared as a set of lines: helm walks Go maps, so the order of its
    // coalesce warnings changes from run to run.
    if sorted_lines(&herr) != sorted_lines(&cerr) {
        return Some(format!(
            "{}: stderr differs\n  helm: {}\n  captain: {}",
            case.line,
            herr.trim(),
            cerr.trim()
        ));
    }
    None
}

/// Bad input: both fail with status 1, captain says `Error: ` and names the same kind of
/// problem as helm (the text before the first `: `), and nothing panics.
fn same_failure(case: &Case, h: &Output, c: &Output) -> Option<String> {
    let herr = String::from_utf8_lossy(&h.stderr);
    let cerr = String::from_utf8_lossy(&c.stderr);
    if h.status.code() != Some(1) {
        return Some(format!(
            "{}: helm did not fail as expected: {}",
            case.line,
            herr.trim()
        ));
    }
    if c.status.code() != Some(1) || !error_part(&cerr).starts_with("Error: ") {
        return Some(format!(
            "{}: captain exit {:?}, stderr {}",
            case.line,
            c.status.code(),
            cerr.trim()
        ));
    }
    let kind = |s: &str| {
        let s = error_part(s).trim_start_matches("Error: ");
        s.split(": ").next().unwrap_or("").to_string()
    };
    // The lines logged before the error (skipped hooks, coalesce warnings), as a set.
    fn logs(s: &str) -> Vec<&str> {
        sorted_lines(&s[..s.len() - error_part(s).len()])
    }
    if logs(&herr) != logs(&cerr) {
        return Some(format!(
            "{}: lines logged before the error differ\n  helm:    {:?}\n  captain: {:?}",
            case.line,
            logs(&herr),
            logs(&cerr)
        ));
    }
    let (hk, ck) = (kind(&herr), kind(&cerr));
    if hk != ck {
        return Some(format!(
            "{}: error kinds differ\n  helm:    {}\n  captain: {}",
            case.line,
            error_part(&herr).lines().next().unwrap_or(""),
            error_part(&cerr).lines().next().unwrap_or("")
        ));
    }
    None
}

/// The lines of `s`, sorted: the order of helm's log lines follows Go map iteration.
fn sorted_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

/// Helm's stderr from its `Error: ` line on, past the log lines (`walk.go:75: ...`,
/// `manifest_sorter.go:190: ...`) it may print first.
fn error_part(s: &str) -> &str {
    if s.starts_with("Error: ") {
        return s;
    }
    match s.find("\nError: ") {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

/// `= ` cases: the same failure, and the same message from the `Error: ` line on.
fn same_error_message(case: &Case, h: &Output, c: &Output) -> Option<String> {
    if let Some(report) = same_failure(case, h, c) {
        return Some(report);
    }
    let herr = String::from_utf8_lossy(&h.stderr);
    let cerr = String::from_utf8_lossy(&c.stderr);
    let (he, ce) = (error_part(&herr), error_part(&cerr));
    if he != ce {
        return Some(format!(
            "{}: messages differ\n  helm:    {he:?}\n  captain: {ce:?}",
            case.line
        ));
    }
    None
}

fn assert_none(failures: Vec<String>, total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ:\n{}",
        failures.len(),
        total,
        failures.join("\n")
    );
}

#[test]
fn real_and_corpus_charts_render_like_helm() {
    let cases = load_cases("golden-cases.txt");
    let n = cases.len();
    assert!(n >= 60, "expected the full case list, found {n}");
    assert_none(run_cases(cases, same_output), n);
}

/// How a failing case is compared: the whole message for `= ` lines, else its kind.
fn failure_check(case: &Case) -> fn(&Case, &Output, &Output) -> Option<String> {
    if case.exact {
        same_error_message
    } else {
        same_failure
    }
}

fn same_failure_or_text(case: &Case, h: &Output, c: &Output) -> Option<String> {
    failure_check(case)(case, h, c)
}

#[test]
fn bad_input_fails_like_helm() {
    let cases = load_cases("bad-cases.txt");
    let n = cases.len();
    assert_none(run_cases(cases, same_failure_or_text), n);
}

#[test]
fn captain_corpus_renders_like_helm() {
    let cases = load_cases_in(&captain_tests_dir(), "golden_cases.txt");
    let n = cases.len();
    assert!(n >= 1, "expected cases in golden_cases.txt");
    assert_none(run_cases(cases, same_output), n);
}

/// Bad input whose whole message captain reproduces: same exit status, same stderr.
fn same_error_text(case: &Case, h: &Output, c: &Output) -> Option<String> {
    if let Some(report) = same_failure(case, h, c) {
        return Some(report);
    }
    let herr = String::from_utf8_lossy(&h.stderr);
    let cerr = String::from_utf8_lossy(&c.stderr);
    if herr != cerr {
        return Some(format!(
            "{}: messages differ\n  helm:    {herr:?}\n  captain: {cerr:?}",
            case.line
        ));
    }
    None
}

#[test]
fn captain_bad_input_fails_with_helms_words() {
    let cases = load_cases_in(&captain_tests_dir(), "golden_bad_cases.txt");
    let n = cases.len();
    assert!(n >= 1, "expected cases in golden_bad_cases.txt");
    assert_none(run_cases(cases, same_error_text), n);
}

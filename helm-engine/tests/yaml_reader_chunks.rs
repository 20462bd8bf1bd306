//! Differential test of which error go-yaml v2 reports first when a values file holds both a
//! syntax error and bytes its reader refuses (invalid UTF-8, UTF-16 surrogates, control
//! characters): the reader decodes 512 bytes at a time, so a bad byte past the chunks the
//! scanner has asked for is never seen. Files go through `helm template -f` (the reference
//! binary, v3.17.3) and our `ValueOptions::merge`; the whole message must match.

mod support;

/// Comment lines of exactly `n` bytes.
fn pad(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while n > 0 {
        let k = n.min(60);
        if k < 2 {
            out.extend(std::iter::repeat_n(b'\n', k));
            break;
        }
        out.push(b'#');
        out.extend(std::iter::repeat_n(b'x', k - 2));
        out.push(b'\n');
        n -= k;
    }
    out
}

fn utf16(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

fn cases() -> Vec<Vec<u8>> {
    let mut out = vec![
        [b"a: b: c\n".as_slice(), &pad(600), b"\x01\n"].concat(),
        [b"a: 1\n".as_slice(), &pad(600), b"b: c: d\x01\n"].concat(),
        [b"a: 1\n---\nb: 2\n".as_slice(), &pad(600), b"\x01"].concat(),
        [b"a: 1\n".as_slice(), &pad(600), b"\x01"].concat(),
        [b"a: 1\n".as_slice(), &pad(600), b"\xff"].concat(),
        [b"a: [1\n".as_slice(), &pad(600), b"\xc3("].concat(),
        [b"a: 'x\n".as_slice(), &pad(600), b"\x01"].concat(),
        [b"a: 1\n".as_slice(), &[b'x'; 507], b"\n", &pad(40), b"\x01"].concat(),
        [b"\xef\xbb\xbfa: b: c\n".as_slice(), &pad(600), b"\x01\n"].concat(),
        [b"a: 1\n...\n".as_slice(), &pad(600), b"\x01"].concat(),
        [b"- a\n- b: c: d\n".as_slice(), &pad(1200), b"\x7f"].concat(),
        [
            b"a: 1\n".as_slice(),
            &pad(490),
            "\u{e9}".repeat(20).as_bytes(),
            b"\nb: c: d\n",
            &pad(600),
            b"\x01",
        ]
        .concat(),
        [
            utf16(&format!("a: b: c\n{}\n", "#".repeat(600))),
            vec![0x00, 0xDC],
        ]
        .concat(),
        [
            utf16(&format!("a: 1\n{}\n", "#".repeat(600))),
            vec![0x00, 0xDC],
        ]
        .concat(),
        [
            utf16(&format!("a: 1\n---\nb: 2\n{}\n", "#".repeat(600))),
            vec![0x01, 0x00],
        ]
        .concat(),
    ];
    // Errors around the end of the first chunk, a control character in the second.
    for k in (496..524).step_by(2) {
        out.push(
            [
                b"a: 1\n".as_slice(),
                &pad(k - 13),
                b"b: c: d\n",
                &pad(30),
                b"\x01\n",
            ]
            .concat(),
        );
        out.push(
            [
                b"a: 1\n".as_slice(),
                &pad(k - 5),
                b"b: [1\n",
                &pad(20),
                b"\x01",
            ]
            .concat(),
        );
        out.push(
            [
                b"k: ".as_slice(),
                &vec![b'v'; k - 3],
                b": x\n",
                &pad(20),
                b"\x01",
            ]
            .concat(),
        );
    }
    out
}

#[test]
fn reader_problems_come_when_the_scanner_reaches_their_chunk() {
    let failures = support::values_file_mismatches(
        cases()
            .into_iter()
            .enumerate()
            .map(|(i, data)| (format!("case {i}"), data)),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

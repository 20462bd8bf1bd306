//! Sprig's hashing functions.

use sha2::Digest as _;

use super::{Registry, arg_str, s};

pub(super) fn register(r: &mut Registry) {
    r.plain("sha256sum", "s", |a| {
        s(hex(&sha2::Sha256::digest(arg_str(a, 0).as_bytes())))
    });
    r.plain("sha512sum", "s", |a| {
        s(hex(&sha2::Sha512::digest(arg_str(a, 0).as_bytes())))
    });
    r.plain("sha1sum", "s", |a| {
        s(hex(&sha1::Sha1::digest(arg_str(a, 0).as_bytes())))
    });
    r.plain("adler32sum", "s", |a| {
        s(adler32(arg_str(a, 0).as_bytes()).to_string())
    });
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s) = (1u32, 0u32);
    for &x in b {
        a = (a + u32::from(x)) % 65_521;
        s = (s + a) % 65_521;
    }
    (s << 16) | a
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes() {
        assert_eq!(
            super::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"abc"))[..8],
            *"ba7816bf"
        );
        assert_eq!(super::adler32(b"Wikipedia"), 0x11E6_0398);
    }
}

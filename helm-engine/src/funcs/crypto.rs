//! Sprig's hashing, password and symmetric-encryption functions.

use sha2::Digest as _;

use super::{Registry, arg_int, arg_str, s};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.plain("sha256sum", "s", |a| {
        s(hex(&sha2::Sha256::digest(crate::value::go_bytes(arg_str(
            a, 0,
        )))))
    });
    r.plain("sha512sum", "s", |a| {
        s(hex(&sha2::Sha512::digest(crate::value::go_bytes(arg_str(
            a, 0,
        )))))
    });
    r.plain("sha1sum", "s", |a| {
        s(hex(&sha1::Sha1::digest(crate::value::go_bytes(arg_str(
            a, 0,
        )))))
    });
    r.plain("adler32sum", "s", |a| {
        s(adler32(&crate::value::go_bytes(arg_str(a, 0))).to_string())
    });
    r.plain("bcrypt", "s", |a| s(bcrypt(arg_str(a, 0))));
    r.plain("htpasswd", "ss", |a| {
        let (user, password) = (arg_str(a, 0), arg_str(a, 1));
        if user.contains(':') {
            return s(format!("invalid username: {user}"));
        }
        s(format!("{user}:{}", bcrypt(password)))
    });
    r.plain("derivePassword", "ussss", |a| {
        s(derive_password(
            arg_int(a, 0) as u32,
            arg_str(a, 1),
            arg_str(a, 2),
            arg_str(a, 3),
            arg_str(a, 4),
        ))
    });
    r.plain("encryptAES", "ss", |a| {
        encrypt_aes(arg_str(a, 0), arg_str(a, 1)).map(Value::String)
    });
    r.plain("decryptAES", "ss", |a| {
        decrypt_aes(arg_str(a, 0), arg_str(a, 1)).map(Value::String)
    });
}

/// Go's `bcrypt.GenerateFromPassword` at the default cost (10), in its `$2a$` form; errors
/// come back as text, as Sprig returns them.
fn bcrypt(password: &str) -> String {
    // x/crypto refuses what bcrypt would silently truncate.
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    match bcrypt::hash_with_result(password, 10) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

/// The Master Password algorithm's templates per password type (Sprig's `derivePassword`).
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// Sprig's `derivePassword`: the Master Password algorithm (scrypt key from the master password
/// and user, HMAC-SHA256 seed from the site and counter, characters picked by template).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    use hmac::Mac as _;
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    // N = 32768 (2^15), r = 8, p = 2, as Sprig calls scrypt.Key.
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            scrypt::scrypt(password.as_bytes(), &salt, &p, &mut key).map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut msg = SEED.to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password: bad HMAC key".into();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, class)| {
            let chars = template_chars(class);
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}

/// The AES-256 key Sprig derives from a password: its bytes, zero-padded or cut to 32.
fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let b = password.as_bytes();
    let n = b.len().min(32);
    key[..n].copy_from_slice(&b[..n]);
    key
}

/// Sprig's `encryptAES`: AES-256-CBC with a random IV and PKCS#7 padding, base64 of IV and
/// ciphertext. Empty text stays empty.
fn encrypt_aes(password: &str, plaintext: &str) -> Result<String, String> {
    use aes::cipher::{BlockEncryptMut as _, KeyIvInit as _, block_padding::NoPadding};
    use base64::Engine as _;
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let mut iv = [0u8; 16];
    fastrand::fill(&mut iv);
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    // PKCS#7 padding, written out as Sprig does.
    let pad = 16 - plaintext.len() % 16;
    let mut buf = plaintext.as_bytes().to_vec();
    buf.resize(buf.len() + pad, pad as u8);
    let len = buf.len();
    let ciphertext = enc
        .encrypt_padded_mut::<NoPadding>(&mut buf, len)
        .map_err(|_| "crypto/cipher: input not full blocks".to_string())?;
    let mut out = iv.to_vec();
    out.extend_from_slice(ciphertext);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Sprig's `decryptAES`, with Go's errors (and the runtime panics Sprig would raise on short or
/// badly padded input, as text/template reports them).
fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    use aes::cipher::{BlockDecryptMut as _, KeyIvInit as _, block_padding::NoPadding};
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let mut crypt = super::misc::go_b64_decode(crypt64)?;
    if crypt.len() < 16 {
        // Go slices the decoding buffer, whose capacity is `DecodedLen` of the input.
        let capacity = crypt64.len() / 4 * 3;
        if capacity < 16 {
            return Err(format!(
                "runtime error: slice bounds out of range [:16] with capacity {capacity}"
            ));
        }
        crypt.resize(16, 0);
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let mut iv16 = [0u8; 16];
    iv16.copy_from_slice(iv);
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv16.into());
    let mut buf = body.to_vec();
    let plain = dec
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| "crypto/cipher: input not full blocks".to_string())?;
    let Some(&last) = plain.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    // Sprig trusts the last byte as the padding length, unchecked.
    let end = plain.len() as i64 - i64::from(last);
    if end < 0 {
        return Err(format!("runtime error: slice bounds out of range [:{end}]"));
    }
    Ok(crate::value::go_string(&plain[..end as usize]))
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

    #[test]
    fn aes_round_trips_and_fails_like_sprig() {
        for text in ["x", "exactly16bytes!!", "a longer text, with ünïcode"] {
            let c = super::encrypt_aes("key", text).unwrap();
            assert_ne!(c, text);
            assert_eq!(super::decrypt_aes("key", &c).unwrap(), text);
        }
        assert_eq!(super::encrypt_aes("key", "").unwrap(), "");
        assert_eq!(
            super::decrypt_aes("k", "YWJj").unwrap_err(),
            "runtime error: slice bounds out of range [:16] with capacity 3"
        );
        assert_eq!(
            super::decrypt_aes("k", "!!").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(
            super::decrypt_aes("k", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=").unwrap_err(),
            "crypto/cipher: input not full blocks"
        );
    }

    #[test]
    fn bcrypt_hashes_verify_and_long_passwords_fail() {
        let h = super::bcrypt("secret");
        assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
        assert!(bcrypt::verify("secret", &h).unwrap());
        assert!(super::bcrypt(&"x".repeat(73)).starts_with("failed to encrypt"));
    }

    #[test]
    fn derive_password_matches_sprig() {
        // Outputs of helm 3.17.3.
        assert_eq!(super::derive_password(0, "pin", "", "", ""), "2847");
        assert_eq!(
            super::derive_password(1, "nope", "p", "u", "s"),
            "cannot find password template nope"
        );
    }
}

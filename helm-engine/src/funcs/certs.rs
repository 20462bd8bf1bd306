//! Sprig's certificate functions (`genCA`, `genSelfSignedCert`, `genSignedCert`,
//! `genPrivateKey` and their `WithKey` forms): 2048-bit RSA keys and X.509 v3 certificates
//! with the fields Sprig sets, DER-encoded here and signed with SHA-256.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, pkcs1v15};
use sha1::Digest as _;

use super::{Registry, arg_int, arg_str};
use crate::value::{Object, Value};

/// Sprig's `certificate` struct: PEM-encoded `Cert` and `Key`.
#[derive(Debug)]
struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::String(self.cert.clone())),
            "Key" => Some(Value::String(self.key.clone())),
            _ => None,
        }
    }
    fn format(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn go_comparable(&self) -> bool {
        true
    }
    fn go_eq(&self, other: &dyn Object) -> bool {
        ["Cert", "Key"]
            .iter()
            .all(|f| self.field(f) == other.field(f))
    }
}

pub(super) fn register(r: &mut Registry) {
    r.plain("genPrivateKey", "s", |a| match arg_str(a, 0) {
        "rsa" => Ok(Value::String(key_pem(&new_key()?)?)),
        other => Ok(Value::String(format!("Unknown type {other}"))),
    });
    r.plain("buildCustomCert", "ss", |a| {
        use base64::Engine as _;
        let dec = |s: &str, what: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| format!("unable to decode base64 {what}"))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let cert = dec(arg_str(a, 0), "certificate")?;
        let key = dec(arg_str(a, 1), "private key")?;
        let der = pem_body(&cert)
            .filter(|d| Issuer::from_der(d).is_some())
            .ok_or("error parsing certificate")?;
        let _ = der;
        parse_key(&key)?;
        Ok(Value::Object(Arc::new(Certificate { cert, key })))
    });
    r.plain("genCA", "si", |a| {
        let key = new_key()?;
        ca(arg_str(a, 0), arg_int(a, 1), key)
    });
    r.plain("genCAWithKey", "sis", |a| {
        ca(arg_str(a, 0), arg_int(a, 1), parse_key(arg_str(a, 2))?)
    });
    r.plain("genSelfSignedCert", "slli", |a| {
        let key = new_key()?;
        self_signed(a, key)
    });
    r.plain("genSelfSignedCertWithKey", "sllis", |a| {
        self_signed(a, parse_key(arg_str(a, 4))?)
    });
    r.plain("genSignedCert", "sllia", |a| {
        let key = new_key()?;
        signed(a, key)
    });
    r.plain("genSignedCertWithKey", "sllias", |a| {
        signed(a, parse_key(arg_str(a, 5))?)
    });
}

fn new_key() -> Result<RsaPrivateKey, String> {
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| format!("error generating RSA private key: {e}"))
}

fn key_pem(k: &RsaPrivateKey) -> Result<String, String> {
    k.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
        .map(|p| p.to_string())
        .map_err(|e| e.to_string())
}

fn parse_key(pem: &str) -> Result<RsaPrivateKey, String> {
    RsaPrivateKey::from_pkcs1_pem(pem)
        .map_err(|_| "error decoding provided private key".to_string())
}

fn ca(cn: &str, days: i64, key: RsaPrivateKey) -> Result<Value, String> {
    let t = Template::base(cn, &[], &[], days, true)?;
    let cert = t.sign(&key, None)?;
    Ok(Value::Object(Arc::new(Certificate {
        cert,
        key: key_pem(&key)?,
    })))
}

fn self_signed(a: &[&Value], key: RsaPrivateKey) -> Result<Value, String> {
    let t = Template::base(
        arg_str(a, 0),
        &list(a[1]),
        &list(a[2]),
        arg_int(a, 3),
        false,
    )?;
    let cert = t.sign(&key, None)?;
    Ok(Value::Object(Arc::new(Certificate {
        cert,
        key: key_pem(&key)?,
    })))
}

fn signed(a: &[&Value], key: RsaPrivateKey) -> Result<Value, String> {
    let Value::Object(ca) = a[4] else {
        return Err(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            crate::template::format::type_name(a[4])
        ));
    };
    let (Some(Value::String(ca_cert)), Some(Value::String(ca_key))) =
        (ca.field("Cert"), ca.field("Key"))
    else {
        return Err("error parsing CA certificate".into());
    };
    let ca_der = pem_body(&ca_cert).ok_or("unable to decode CA certificate")?;
    let ca_key = parse_key(&ca_key)?;
    let issuer = Issuer::from_der(&ca_der).ok_or("error parsing CA certificate")?;
    let t = Template::base(
        arg_str(a, 0),
        &list(a[1]),
        &list(a[2]),
        arg_int(a, 3),
        false,
    )?;
    let cert = t.sign_with(&key, &ca_key, Some(&issuer))?;
    Ok(Value::Object(Arc::new(Certificate {
        cert,
        key: key_pem(&key)?,
    })))
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().map(super::strval).collect(),
        _ => vec![],
    }
}

// ---- DER ----

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 128 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn uint(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|&x| x == 0).collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &a in &arcs[2..] {
        let mut chunk = vec![(a & 0x7f) as u8];
        let mut v = a >> 7;
        while v > 0 {
            chunk.insert(0, 0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        body.extend(chunk);
    }
    tlv(0x06, &body)
}

fn time(secs: i64) -> Vec<u8> {
    let t = super::dates::format_time(i128::from(secs) * 1_000_000_000, "20060102150405");
    let year: i64 = t[..4].parse().unwrap_or(2000);
    if (1950..2050).contains(&year) {
        tlv(0x17, format!("{}Z", &t[2..]).as_bytes())
    } else {
        tlv(0x18, format!("{t}Z").as_bytes())
    }
}

fn name(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return seq(&[]);
    }
    let printable = cn
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
    let value = tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    seq(&[tlv(0x31, &seq(&[oid(&[2, 5, 4, 3]), value]))])
}

fn sha256_rsa() -> Vec<u8> {
    seq(&[oid(&[1, 2, 840, 113_549, 1, 1, 11]), vec![0x05, 0x00]])
}

fn ext(id: &[u64], critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(tlv(0x04, &value));
    seq(&parts)
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_body(p: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let b64: String = p.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// What a signed certificate needs from its issuer: the subject name and key identifier.
struct Issuer {
    subject: Vec<u8>,
    key_id: Option<Vec<u8>>,
}

/// Reads one DER element at the start of `d`: (tag, header length, total length).
fn element(d: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *d.first()?;
    let l0 = *d.get(1)? as usize;
    if l0 < 0x80 {
        return Some((tag, 2, 2 + l0));
    }
    let n = l0 & 0x7f;
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | *d.get(2 + i)? as usize;
    }
    Some((tag, 2 + n, 2 + n + len))
}

/// The elements inside a constructed DER element.
fn children(d: &[u8]) -> Option<Vec<&[u8]>> {
    let (_, h, total) = element(d)?;
    let mut rest = d.get(h..total)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (_, _, t) = element(rest)?;
        out.push(rest.get(..t)?);
        rest = &rest[t..];
    }
    Some(out)
}

impl Issuer {
    fn from_der(cert: &[u8]) -> Option<Issuer> {
        let tbs = children(cert)?.first().copied()?;
        let fields = children(tbs)?;
        // version, serial, signature alg, issuer, validity, subject, spki, [3] extensions
        let subject = fields.get(5)?.to_vec();
        let mut key_id = None;
        if let Some(exts) = fields.iter().find(|f| f.first() == Some(&0xa3)) {
            for e in children(children(exts)?.first()?)? {
                let parts = children(e)?;
                if parts.first().copied()? == oid(&[2, 5, 29, 14]).as_slice() {
                    let octets = parts.last()?;
                    let (_, h, _) = element(octets)?;
                    let inner = &octets[h..];
                    let (_, h2, t2) = element(inner)?;
                    key_id = Some(inner.get(h2..t2)?.to_vec());
                }
            }
        }
        Some(Issuer { subject, key_id })
    }
}

/// Sprig's base certificate template.
struct Template {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    not_before: i64,
    not_after: i64,
    is_ca: bool,
}

impl Template {
    fn base(
        cn: &str,
        ips: &[String],
        dns: &[String],
        days: i64,
        is_ca: bool,
    ) -> Result<Template, String> {
        let mut ip_bytes = Vec::new();
        for ip in ips {
            let parsed: std::net::IpAddr =
                ip.parse().map_err(|_| format!("error parsing ip: {ip}"))?;
            ip_bytes.push(match parsed {
                std::net::IpAddr::V4(a) => a.octets().to_vec(),
                std::net::IpAddr::V6(a) => a.octets().to_vec(),
            });
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Ok(Template {
            cn: cn.to_string(),
            ips: ip_bytes,
            dns: dns.to_vec(),
            not_before: now,
            not_after: now + days * 86_400,
            is_ca,
        })
    }

    fn sign(&self, key: &RsaPrivateKey, issuer: Option<&Issuer>) -> Result<String, String> {
        self.sign_with(key, key, issuer)
    }

    /// Builds the certificate for `key`'s public half, signed by `signer`.
    fn sign_with(
        &self,
        key: &RsaPrivateKey,
        signer: &RsaPrivateKey,
        issuer: Option<&Issuer>,
    ) -> Result<String, String> {
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| e.to_string())?
            .as_bytes()
            .to_vec();
        let mut serial = [0u8; 16];
        for b in &mut serial {
            *b = fastrand::u8(..);
        }
        let subject = name(&self.cn);
        let issuer_name = issuer
            .map(|i| i.subject.clone())
            .unwrap_or_else(|| subject.clone());
        let mut exts = Vec::new();
        // Key usage: digitalSignature | keyEncipherment (| keyCertSign for a CA).
        let ku = if self.is_ca {
            vec![0x03, 0x02, 0x02, 0xa4]
        } else {
            vec![0x03, 0x02, 0x05, 0xa0]
        };
        exts.push(ext(&[2, 5, 29, 15], true, ku));
        exts.push(ext(
            &[2, 5, 29, 37],
            false,
            seq(&[
                oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
                oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
            ]),
        ));
        let bc = if self.is_ca {
            seq(&[vec![0x01, 0x01, 0xff]])
        } else {
            seq(&[])
        };
        exts.push(ext(&[2, 5, 29, 19], true, bc));
        if self.is_ca {
            // Go derives the subject key identifier from the SHA-1 of the public key bits.
            let bits = spki_key_bits(&spki).unwrap_or_default();
            let ski = sha1::Sha1::digest(bits).to_vec();
            exts.push(ext(&[2, 5, 29, 14], false, tlv(0x04, &ski)));
        }
        if let Some(kid) = issuer.and_then(|i| i.key_id.as_ref()) {
            exts.push(ext(&[2, 5, 29, 35], false, seq(&[tlv(0x80, kid)])));
        }
        if !self.dns.is_empty() || !self.ips.is_empty() {
            let mut names = Vec::new();
            for d in &self.dns {
                names.push(tlv(0x82, d.as_bytes()));
            }
            for ip in &self.ips {
                names.push(tlv(0x87, ip));
            }
            exts.push(ext(&[2, 5, 29, 17], false, seq(&names)));
        }
        let tbs = seq(&[
            tlv(0xa0, &uint(&[2])),
            uint(&serial),
            sha256_rsa(),
            issuer_name,
            seq(&[time(self.not_before), time(self.not_after)]),
            subject,
            spki,
            tlv(0xa3, &seq(&exts)),
        ]);
        let sk = pkcs1v15::SigningKey::<sha2::Sha256>::new(signer.clone());
        let sig = sk.try_sign(&tbs).map_err(|e| e.to_string())?.to_vec();
        let mut bits = vec![0u8];
        bits.extend(sig);
        let cert = seq(&[tbs, sha256_rsa(), tlv(0x03, &bits)]);
        Ok(pem("CERTIFICATE", &cert))
    }
}

/// The public key bits of a SubjectPublicKeyInfo (the BIT STRING's content after the
/// unused-bits byte).
fn spki_key_bits(spki: &[u8]) -> Option<Vec<u8>> {
    let parts = children(spki)?;
    let bs = parts.get(1)?;
    let (_, h, t) = element(bs)?;
    Some(bs.get(h + 1..t)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Key generation is slow in unoptimised builds, so the tests sign with fixed keys
    // through the `WithKey` forms, which share every other step with `genCA`/`genSignedCert`.
    const CA_KEY: &str = include_str!("testdata/ca-key.pem");
    const LEAF_KEY: &str = include_str!("testdata/leaf-key.pem");

    fn verify(cert_der: &[u8], signer_pem: &str) {
        use rsa::signature::Verifier;
        let parts = children(cert_der).unwrap();
        let tbs = parts[0];
        let (_, h, t) = element(parts[2]).unwrap();
        let sig = pkcs1v15::Signature::try_from(&parts[2][h + 1..t]).unwrap();
        let key = parse_key(signer_pem).unwrap();
        let vk = pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.to_public_key());
        vk.verify(tbs, &sig).expect("signature verifies");
    }

    #[test]
    fn ca_and_signed_cert_chain() {
        let Value::Object(ca_obj) = ca("my-ca", 365, parse_key(CA_KEY).unwrap()).unwrap() else {
            panic!("not an object")
        };
        let Some(Value::String(ca_pem)) = ca_obj.field("Cert") else {
            panic!("no cert")
        };
        assert!(ca_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let der = pem_body(&ca_pem).unwrap();
        verify(&der, CA_KEY);
        let issuer = Issuer::from_der(&der).unwrap();
        assert_eq!(issuer.subject, name("my-ca"));
        assert_eq!(issuer.key_id.as_ref().map(Vec::len), Some(20));
        let ca_val = Value::Object(ca_obj.clone());
        let ips = Value::List(vec![Value::String("10.0.0.1".into())]);
        let dns = Value::List(vec![Value::String("svc.local".into())]);
        let leaf_key = Value::String(LEAF_KEY.into());
        let args = [
            &Value::String("svc".into()),
            &ips,
            &dns,
            &Value::Int(30),
            &ca_val,
            &leaf_key,
        ];
        let Value::Object(leaf) = signed(&args, parse_key(LEAF_KEY).unwrap()).unwrap() else {
            panic!("not an object")
        };
        let Some(Value::String(key_pem)) = leaf.field("Key") else {
            panic!("no key")
        };
        assert!(key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let leaf_der = pem_body(
            &leaf
                .field("Cert")
                .map(|v| crate::funcs::strval(&v))
                .unwrap(),
        )
        .unwrap();
        // Signed by the CA's key, issued by the CA's subject (field 3 of the TBS).
        verify(&leaf_der, CA_KEY);
        let tbs = children(&leaf_der).unwrap()[0];
        assert_eq!(children(tbs).unwrap()[3], name("my-ca").as_slice());
        assert_eq!(Issuer::from_der(&leaf_der).unwrap().subject, name("svc"));
        assert!(
            signed(
                &[
                    &Value::String("x".into()),
                    &ips,
                    &dns,
                    &Value::Int(1),
                    &Value::Nil
                ],
                parse_key(LEAF_KEY).unwrap()
            )
            .is_err()
        );
    }

    #[test]
    fn rejects_bad_ips_and_keys() {
        assert!(Template::base("x", &["not-an-ip".into()], &[], 1, false).is_err());
        assert_eq!(
            parse_key("garbage").unwrap_err(),
            "error decoding provided private key"
        );
    }
}

//! TLS for `ssl:` remotes, verified the way OVS verifies.
//!
//! OVS checks that the server's certificate chains up to the configured CA certificate and
//! nothing more: no host name or subject-alternative-name check. OVN certificates (those of
//! `ovs-pki`, Kube-OVN's own) often carry no SAN at all, so a standard web verifier would reject
//! every one of them. [`CaChainVerifier`] therefore runs webpki's chain verification (validity
//! period, signatures, CA constraints, server-auth usage) against the CA and skips only the
//! name check. The client always presents its own certificate, as ovsdb-server requires one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::server::ParsedCertificate;
use rustls::{RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::error::Error;

/// The files that set up TLS, as OVS's `--private-key`, `--certificate` and `--ca-cert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM private key of this client.
    pub private_key: PathBuf,
    /// PEM certificate (chain) of this client.
    pub certificate: PathBuf,
    /// PEM certificate(s) of the CA that signed the servers' certificates.
    pub ca_cert: PathBuf,
}

impl TlsFiles {
    /// The three files.
    pub fn new(
        private_key: impl Into<PathBuf>,
        certificate: impl Into<PathBuf>,
        ca_cert: impl Into<PathBuf>,
    ) -> Self {
        TlsFiles {
            private_key: private_key.into(),
            certificate: certificate.into(),
            ca_cert: ca_cert.into(),
        }
    }
}

fn file_error(what: &str, path: &Path, e: impl fmt::Display) -> Error {
    Error::Tls(format!("{what} {}: {e}", path.display()))
}

/// A configured TLS client: certificates loaded, verifier in place.
#[derive(Clone)]
pub struct TlsConnector {
    inner: tokio_rustls::TlsConnector,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsConnector")
    }
}

impl TlsConnector {
    /// Loads the key, certificate and CA files.
    pub fn from_files(files: &TlsFiles) -> Result<Self, Error> {
        let ca: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.ca_cert)
            .map_err(|e| file_error("CA certificate", &files.ca_cert, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_error("CA certificate", &files.ca_cert, e))?;
        if ca.is_empty() {
            return Err(file_error(
                "CA certificate",
                &files.ca_cert,
                "no PEM certificate in the file",
            ));
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.certificate)
            .map_err(|e| file_error("certificate", &files.certificate, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_error("certificate", &files.certificate, e))?;
        if chain.is_empty() {
            return Err(file_error(
                "certificate",
                &files.certificate,
                "no PEM certificate in the file",
            ));
        }
        let key = PrivateKeyDer::from_pem_file(&files.private_key)
            .map_err(|e| file_error("private key", &files.private_key, e))?;
        Self::new(ca, chain, key)
    }

    /// Builds a connector from DER certificates and key already in memory.
    pub fn new(
        ca: Vec<CertificateDer<'static>>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for c in ca {
            roots
                .add(c)
                .map_err(|e| Error::Tls(format!("CA certificate unusable: {e}")))?;
        }
        let verifier = CaChainVerifier {
            roots: Arc::new(roots),
            algorithms: provider.signature_verification_algorithms,
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(chain, key)
            .map_err(|e| Error::Tls(format!("certificate and private key unusable: {e}")))?;
        Ok(TlsConnector {
            inner: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// Runs the TLS handshake over a connected TCP stream.
    pub async fn connect(&self, host: &str, tcp: TcpStream) -> Result<TlsStream<TcpStream>, Error> {
        // The name only fills SNI; the verifier ignores it, as OVS does.
        let name = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(host.to_owned())
                .map_err(|e| Error::Tls(format!("server name {host:?}: {e}")))?,
        };
        self.inner.connect(name, tcp).await.map_err(|e| {
            match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(tls) => Error::Tls(format!("handshake with {host}: {tls}")),
                None => Error::Io(e),
            }
        })
    }
}

/// Verifies a server certificate as OVS does: the chain up to the configured CA, no name check.
#[derive(Debug)]
pub struct CaChainVerifier {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for CaChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

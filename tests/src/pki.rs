//! Certificates made with `ovs-pki`, the way OVN deployments make them.

use std::path::{Path, PathBuf};

use crate::process::{ScratchDir, run_tool};
use crate::{Result, require_tools};

/// A private key and the certificate for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePair {
    /// `NAME-privkey.pem`: the private key (RSA 2048, PEM).
    pub private_key: PathBuf,
    /// `NAME-cert.pem`: the certificate signed by the CA.
    pub certificate: PathBuf,
}

/// Which of ovs-pki's two CAs signs a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateKind {
    /// Signed by `switchca`: what OVN deployments give ovsdb-server, northd and ovn-controller
    /// (`ovs-pki req+sign NAME switch`), and trust through `switchca/cacert.pem`.
    Switch,
    /// Signed by `controllerca` (`ovs-pki req+sign NAME controller`).
    Controller,
}

impl CertificateKind {
    fn as_arg(self) -> &'static str {
        match self {
            CertificateKind::Switch => "switch",
            CertificateKind::Controller => "controller",
        }
    }
}

/// Two independent PKIs made by `ovs-pki` in a scratch directory: a trusted one, with a server
/// and a client certificate, and an untrusted one (a different CA) with its own server and
/// client certificates, for rejection tests.
///
/// As in OVN deployments, certificates are `switch` certificates and peers trust
/// `switchca/cacert.pem`. ovs-pki puts the name into the CN and a SAN that is not a valid DNS
/// name (`DNS:server id:UUID`), so clients must not check host names, as OVS does not.
///
/// ```no_run
/// # fn main() -> ovn_tests::Result<()> {
/// use ovn_tests::{OvsdbServer, Pki, Schema};
/// let pki = Pki::new()?;
/// let nb = OvsdbServer::builder(Schema::Northbound).ssl(&pki).start()?;
/// let remote = nb.ssl_remote().unwrap(); // ssl:127.0.0.1:PORT
/// let client = pki.client(); // trusted: private_key, certificate
/// let ca = pki.ca_certificate(); // what the client verifies the server against
/// let intruder = pki.untrusted_client(); // the server must refuse this one
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pki {
    trusted: PathBuf,
    ca_certificate: PathBuf,
    untrusted: PathBuf,
    server: CertificatePair,
    client: CertificatePair,
    untrusted_server: CertificatePair,
    untrusted_client: CertificatePair,
    dir: ScratchDir,
}

impl Pki {
    /// Runs `ovs-pki init` twice (trusted and untrusted) and issues the four certificates.
    /// Takes a few seconds: RSA key generation.
    pub fn new() -> Result<Self> {
        require_tools(&["ovs-pki"])?;
        let dir = ScratchDir::new("pki")?;
        let trusted = dir.join("trusted");
        let untrusted = dir.join("untrusted");
        for pki in [&trusted, &untrusted] {
            init(dir.path(), pki)?;
        }
        let server = issue(dir.path(), &trusted, "server", CertificateKind::Switch)?;
        let client = issue(dir.path(), &trusted, "client", CertificateKind::Switch)?;
        let untrusted_server = issue(
            dir.path(),
            &untrusted,
            "untrusted-server",
            CertificateKind::Switch,
        )?;
        let untrusted_client = issue(
            dir.path(),
            &untrusted,
            "untrusted-client",
            CertificateKind::Switch,
        )?;
        Ok(Pki {
            ca_certificate: trusted.join("switchca/cacert.pem"),
            trusted,
            untrusted,
            server,
            client,
            untrusted_server,
            untrusted_client,
            dir,
        })
    }

    /// The trusted CA's certificate (`switchca/cacert.pem`): what both sides verify the peer
    /// against (ovsdb-server's `--ca-cert`).
    pub fn ca_certificate(&self) -> &Path {
        &self.ca_certificate
    }

    /// The trusted `controllerca` certificate, for [`CertificateKind::Controller`] certificates.
    pub fn controller_ca_certificate(&self) -> PathBuf {
        self.trusted.join("controllerca/cacert.pem")
    }

    /// The server certificate, signed by the trusted CA.
    pub fn server(&self) -> &CertificatePair {
        &self.server
    }

    /// A client certificate, signed by the trusted CA.
    pub fn client(&self) -> &CertificatePair {
        &self.client
    }

    /// The untrusted CA's certificate.
    pub fn untrusted_ca_certificate(&self) -> PathBuf {
        self.untrusted.join("switchca/cacert.pem")
    }

    /// A server certificate signed by the untrusted CA: a client trusting only
    /// [`Pki::ca_certificate`] must refuse a server presenting it.
    pub fn untrusted_server(&self) -> &CertificatePair {
        &self.untrusted_server
    }

    /// A client certificate signed by the untrusted CA: a server trusting only
    /// [`Pki::ca_certificate`] must refuse it.
    pub fn untrusted_client(&self) -> &CertificatePair {
        &self.untrusted_client
    }

    /// Issues another certificate from the trusted PKI (`ovs-pki req+sign NAME KIND`).
    pub fn issue(&self, name: &str, kind: CertificateKind) -> Result<CertificatePair> {
        issue(self.dir.path(), &self.trusted, name, kind)
    }

    /// The scratch directory holding both PKIs and the issued files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn init(work: &Path, pki: &Path) -> Result<()> {
    run_tool(
        "ovs-pki",
        work,
        [
            "init".to_owned(),
            format!("--dir={}", pki.display()),
            format!("--log={}", work.join("ovs-pki.log").display()),
        ],
    )
    .map(drop)
}

fn issue(work: &Path, pki: &Path, name: &str, kind: CertificateKind) -> Result<CertificatePair> {
    // req+sign writes NAME-privkey.pem, NAME-req.pem and NAME-cert.pem into the working
    // directory; --batch skips the interactive fingerprint check.
    run_tool(
        "ovs-pki",
        work,
        [
            "req+sign".to_owned(),
            name.to_owned(),
            kind.as_arg().to_owned(),
            "--batch".to_owned(),
            format!("--dir={}", pki.display()),
            format!("--log={}", work.join("ovs-pki.log").display()),
        ],
    )?;
    Ok(CertificatePair {
        private_key: work.join(format!("{name}-privkey.pem")),
        certificate: work.join(format!("{name}-cert.pem")),
    })
}

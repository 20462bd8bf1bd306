//! Remotes: where a server listens, in OVS's syntax, and how to open a byte stream to it.
//!
//! - `unix:PATH`
//! - `tcp:HOST:PORT` (an IPv6 address in brackets: `tcp:[::1]:6641`; port 6640 when omitted)
//! - `ssl:HOST:PORT` (TLS, see [`crate::tls`])
//! - several of these separated by commas, for the members of a cluster

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::error::Error;
use crate::tls::TlsConnector;

/// OVSDB's registered port, used when a `tcp:` or `ssl:` remote names none.
pub const DEFAULT_PORT: u16 = 6640;

/// One place a server listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Remote {
    /// A unix domain socket.
    Unix(PathBuf),
    /// Plain TCP.
    Tcp {
        /// An IP address (without brackets) or a host name.
        host: String,
        /// The port.
        port: u16,
    },
    /// TLS over TCP.
    Ssl {
        /// An IP address (without brackets) or a host name.
        host: String,
        /// The port.
        port: u16,
    },
}

fn invalid(remote: &str, reason: impl Into<String>) -> Error {
    Error::InvalidRemote {
        remote: remote.to_owned(),
        reason: reason.into(),
    }
}

/// Splits `HOST[:PORT]`, with IPv6 addresses in brackets.
fn parse_host_port(whole: &str, rest: &str) -> Result<(String, u16), Error> {
    let (host, port) = if let Some(after) = rest.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or_else(|| invalid(whole, "IPv6 address without closing ']'"))?;
        let host = &after[..close];
        let tail = &after[close + 1..];
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(invalid(
                whole,
                format!("{host:?} in brackets is not an IPv6 address"),
            ));
        }
        match tail {
            "" => (host, None),
            t => match t.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err(invalid(whole, format!("unexpected {t:?} after ']'"))),
            },
        }
    } else {
        match rest.matches(':').count() {
            0 => (rest, None),
            1 => {
                let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
                (h, Some(p))
            }
            _ => {
                return Err(invalid(
                    whole,
                    "an IPv6 address must be written in brackets, like [::1]:6641",
                ));
            }
        }
    };
    if host.is_empty() {
        return Err(invalid(whole, "no host"));
    }
    if host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(invalid(whole, format!("{host:?} is not a host")));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(invalid(whole, format!("{p:?} is not a port (1-65535)"))),
            Ok(p) => p,
        },
    };
    Ok((host.to_owned(), port))
}

impl FromStr for Remote {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        let (kind, rest) = t
            .split_once(':')
            .ok_or_else(|| invalid(s, "expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT"))?;
        match kind {
            "unix" => {
                if rest.is_empty() {
                    return Err(invalid(s, "no socket path"));
                }
                Ok(Remote::Unix(PathBuf::from(rest)))
            }
            "tcp" => parse_host_port(s, rest).map(|(host, port)| Remote::Tcp { host, port }),
            "ssl" => parse_host_port(s, rest).map(|(host, port)| Remote::Ssl { host, port }),
            "punix" | "ptcp" | "pssl" => Err(invalid(
                s,
                format!(
                    "{kind}: is a listening remote; a client connects to {}:",
                    &kind[1..]
                ),
            )),
            other => Err(invalid(
                s,
                format!("unknown kind {other:?}: expected unix, tcp or ssl"),
            )),
        }
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host_port = |f: &mut fmt::Formatter<'_>, kind: &str, host: &str, port: u16| {
            if host.contains(':') {
                write!(f, "{kind}:[{host}]:{port}")
            } else {
                write!(f, "{kind}:{host}:{port}")
            }
        };
        match self {
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
            Remote::Tcp { host, port } => host_port(f, "tcp", host, *port),
            Remote::Ssl { host, port } => host_port(f, "ssl", host, *port),
        }
    }
}

impl Remote {
    /// Parses a comma-separated list of remotes (at least one).
    pub fn parse_list(s: &str) -> Result<Vec<Remote>, Error> {
        let list: Vec<Remote> = s
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        if list.is_empty() {
            return Err(invalid(s, "no remote given"));
        }
        Ok(list)
    }

    /// Whether this remote needs TLS settings.
    pub fn is_ssl(&self) -> bool {
        matches!(self, Remote::Ssl { .. })
    }

    /// Opens a byte stream to the remote. `ssl:` remotes need a [`TlsConnector`].
    pub async fn connect(&self, tls: Option<&Arc<TlsConnector>>) -> Result<Transport, Error> {
        match self {
            Remote::Unix(path) => Ok(Box::pin(UnixStream::connect(path).await?)),
            Remote::Tcp { host, port } => {
                let s = TcpStream::connect((host.as_str(), *port)).await?;
                s.set_nodelay(true)?;
                Ok(Box::pin(s))
            }
            Remote::Ssl { host, port } => {
                let tls = tls.ok_or_else(|| {
                    Error::Tls(format!(
                        "{self} needs a private key, a certificate and a CA certificate"
                    ))
                })?;
                let s = TcpStream::connect((host.as_str(), *port)).await?;
                s.set_nodelay(true)?;
                Ok(Box::pin(tls.connect(host, s).await?))
            }
        }
    }
}

/// A byte stream that can be read and written from one task.
pub trait AsyncStream: AsyncRead + AsyncWrite + Send {}

impl<T: AsyncRead + AsyncWrite + Send> AsyncStream for T {}

/// An open connection to a remote, whatever its kind.
pub type Transport = Pin<Box<dyn AsyncStream>>;

#[cfg(test)]
#[path = "remote/tests.rs"]
mod tests;

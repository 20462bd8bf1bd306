use std::path::PathBuf;

use super::Remote;
use crate::error::Error;

#[test]
fn parses_each_kind() {
    assert_eq!(
        "unix:/run/ovn/ovnnb_db.sock".parse::<Remote>().unwrap(),
        Remote::Unix(PathBuf::from("/run/ovn/ovnnb_db.sock"))
    );
    assert_eq!(
        "tcp:127.0.0.1:6641".parse::<Remote>().unwrap(),
        Remote::Tcp {
            host: "127.0.0.1".into(),
            port: 6641
        }
    );
    assert_eq!(
        "ssl:10.0.0.1:6642".parse::<Remote>().unwrap(),
        Remote::Ssl {
            host: "10.0.0.1".into(),
            port: 6642
        }
    );
    assert_eq!(
        "tcp:[::1]:6641".parse::<Remote>().unwrap(),
        Remote::Tcp {
            host: "::1".into(),
            port: 6641
        }
    );
    assert_eq!(
        "ssl:[fe80::1]".parse::<Remote>().unwrap(),
        Remote::Ssl {
            host: "fe80::1".into(),
            port: 6640
        }
    );
    assert_eq!(
        "tcp:ovn-central".parse::<Remote>().unwrap(),
        Remote::Tcp {
            host: "ovn-central".into(),
            port: 6640
        }
    );
}

#[test]
fn displays_as_parsed() {
    for s in [
        "unix:/tmp/x.sock",
        "tcp:127.0.0.1:6641",
        "ssl:[::1]:6642",
        "tcp:[2001:db8::5]:1",
    ] {
        assert_eq!(s.parse::<Remote>().unwrap().to_string(), s);
    }
}

#[test]
fn parses_comma_separated_lists() {
    let l = Remote::parse_list("tcp:127.0.0.1:6641, tcp:127.0.0.2:6641,ssl:[::1]:6643").unwrap();
    assert_eq!(l.len(), 3);
    assert!(l[2].is_ssl());
    assert!(matches!(
        Remote::parse_list(" , "),
        Err(Error::InvalidRemote { .. })
    ));
    assert!(matches!(
        Remote::parse_list("tcp:1.2.3.4:1,bogus"),
        Err(Error::InvalidRemote { .. })
    ));
}

#[test]
fn rejects_bad_remotes_with_a_reason() {
    for bad in [
        "",
        "unix:",
        "tcp:",
        "tcp:1.2.3.4:",
        "tcp:1.2.3.4:0",
        "tcp:1.2.3.4:70000",
        "tcp:1.2.3.4:x",
        "tcp:::1:6641",
        "tcp:[::1",
        "tcp:[nothex]:1",
        "tcp:[::1]x",
        "ptcp:6641",
        "pssl:6641:127.0.0.1",
        "http:1.2.3.4:80",
        "/tmp/sock",
        "tcp:a b:1",
    ] {
        match bad.parse::<Remote>() {
            Err(Error::InvalidRemote { remote, reason }) => {
                assert_eq!(remote, bad);
                assert!(!reason.is_empty());
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

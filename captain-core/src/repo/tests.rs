use super::*;
use crate::test_http::{FileServer, chart_tgz};

fn sha(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

fn index_yaml(entries: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let mut out = String::from("apiVersion: v1\nentries:\n");
    let mut names: Vec<&str> = entries.iter().map(|e| e.0).collect();
    names.dedup();
    for name in names {
        out.push_str(&format!("  {name}:\n"));
        for (_, version, url, digest) in entries.iter().filter(|e| e.0 == name) {
            out.push_str(&format!(
                "  - name: {name}\n    version: {version}\n    urls:\n    - {url}\n    digest: {digest}\n"
            ));
        }
    }
    out.into_bytes()
}

fn constraint(c: &str, v: &str) -> bool {
    Constraint::parse(c)
        .unwrap()
        .matches(&constraint::parse_version(v).unwrap())
}

#[test]
fn constraints_follow_masterminds_semver() {
    let cases: &[(&str, &str, bool)] = &[
        ("1.2.3", "1.2.3", true),
        ("1.2.3", "1.2.4", false),
        ("=1.2.3", "1.2.3", true),
        ("1.2", "1.2.9", true),
        ("1.2", "1.3.0", false),
        ("1.2.x", "1.2.0", true),
        ("1.x", "1.9.9", true),
        ("1.x", "2.0.0", false),
        ("*", "3.4.5", true),
        ("*", "3.4.5-rc.1", false),
        ("", "0.0.1", true),
        ("!=1.2.3", "1.2.4", true),
        ("!=1.2.3", "1.2.3", false),
        (">1.2", "1.2.9", false),
        (">1.2", "1.3.0", true),
        (">1.2.3", "1.2.4", true),
        (">=1.2.3", "1.2.3", true),
        ("<1.2.3", "1.2.2", true),
        ("<1.2.3", "1.2.3", false),
        ("<=1.2", "1.2.9", true),
        ("<=1.2", "1.3.0", false),
        ("~1.2.3", "1.2.9", true),
        ("~1.2.3", "1.3.0", false),
        ("~1", "1.9.0", true),
        ("~1", "2.0.0", false),
        ("~>1.2", "1.2.7", true),
        ("^1.2.3", "1.9.9", true),
        ("^1.2.3", "2.0.0", false),
        ("^1.2.3", "1.2.2", false),
        ("^0.2.3", "0.2.9", true),
        ("^0.2.3", "0.3.0", false),
        ("^0.0.3", "0.0.3", true),
        ("^0.0.3", "0.0.4", false),
        ("^0.0", "0.0.9", true),
        ("^0.0", "0.1.0", false),
        ("^0", "0.9.0", true),
        ("^0", "1.0.0", false),
        (">=1.0, <2.0", "1.5.0", true),
        (">=1.0 <2.0", "2.0.0", false),
        (">= 1.0, < 2.0", "1.0.0", true),
        ("1.2 - 1.4.5", "1.4.5", true),
        ("1.2 - 1.4.5", "1.4.6", false),
        ("1.2 - 1.4.5", "1.1.9", false),
        ("<1.0 || >=3.0", "0.5.0", true),
        ("<1.0 || >=3.0", "2.0.0", false),
        ("<1.0 || >=3.0", "3.1.0", true),
        ("^1.0", "1.1.0-rc.1", false),
        (">=1.1.0-0", "1.1.0-rc.1", true),
        ("~1.1.0-beta", "1.1.0-rc.1", true),
        ("v1.2.3", "1.2.3", true),
    ];
    for (c, v, want) in cases {
        assert_eq!(constraint(c, v), *want, "{c} against {v}");
    }
    for bad in ["abc", ">=", "1.2.3.4", "||", "^x.y.z.w"] {
        assert!(Constraint::parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn resolve_picks_the_highest_match_and_skips_prereleases() {
    let index = IndexFile::parse(
        "mem",
        &index_yaml(&[
            ("web", "1.0.0", "web-1.0.0.tgz", ""),
            ("web", "1.3.0", "web-1.3.0.tgz", ""),
            ("web", "2.0.0-rc.1", "web-2.0.0-rc.1.tgz", ""),
            ("web", "1.10.0", "web-1.10.0.tgz", ""),
            ("web", "not-a-version", "x.tgz", ""),
        ]),
    )
    .unwrap();
    assert_eq!(index.resolve("r", "web", "").unwrap().version, "1.10.0");
    assert_eq!(index.resolve("r", "web", "~1.3").unwrap().version, "1.3.0");
    assert_eq!(
        index.resolve("r", "web", ">=2.0.0-0").unwrap().version,
        "2.0.0-rc.1"
    );
    assert!(matches!(
        index.resolve("r", "web", ">=3"),
        Err(Error::NoVersionMatch { .. })
    ));
    let missing = index.resolve("stable", "db", "").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "chart \"db\" not found in repository stable"
    );
    assert!(matches!(
        index.resolve("r", "web", "garbage"),
        Err(Error::Constraint { .. })
    ));
}

#[test]
fn relative_urls_resolve_against_the_repository() {
    assert_eq!(
        resolve_reference("http://h:1/charts/", "web-1.0.0.tgz"),
        "http://h:1/charts/web-1.0.0.tgz"
    );
    assert_eq!(
        resolve_reference("http://h:1/charts", "/other/web.tgz"),
        "http://h:1/other/web.tgz"
    );
    assert_eq!(
        resolve_reference("http://h:1/charts", "https://cdn/web.tgz"),
        "https://cdn/web.tgz"
    );
}

#[tokio::test]
async fn fetches_a_chart_with_basic_auth_and_checks_its_digest() {
    let tgz = chart_tgz(
        "web",
        "1.2.0",
        &[("templates/cm.yaml", "kind: ConfigMap\n")],
    );
    let old = chart_tgz("web", "1.1.0", &[]);
    let index = index_yaml(&[
        ("web", "1.1.0", "web-1.1.0.tgz", &sha(&old)),
        ("web", "1.2.0", "web-1.2.0.tgz", &sha(&tgz)),
        ("bad", "1.0.0", "bad-1.0.0.tgz", &sha(b"something else")),
    ]);
    let server = FileServer::start(
        vec![
            ("/index.yaml".into(), index),
            ("/web-1.2.0.tgz".into(), tgz.clone()),
            ("/web-1.1.0.tgz".into(), old),
            ("/bad-1.0.0.tgz".into(), tgz.clone()),
        ],
        Some(("admin", "s3cret")),
    )
    .await;
    let client = RepoClient::new(Duration::from_secs(3600)).unwrap();
    let creds = Credentials {
        username: Some("admin".into()),
        password: Some("s3cret".into()),
        ca_pem: None,
    };

    let archive = client
        .fetch_chart("stable", &server.url, &creds, "web", "^1")
        .await
        .unwrap();
    assert_eq!(archive.version, "1.2.0");
    assert_eq!(archive.data.as_ref(), tgz.as_slice());
    let chart = helm_engine::chart::load_archive(&archive.data).unwrap();
    assert_eq!(chart.metadata.version, "1.2.0");

    // The index is read once per interval, however many charts are fetched.
    client
        .fetch_chart("stable", &server.url, &creds, "web", "1.1.0")
        .await
        .unwrap();
    assert_eq!(server.hits("/index.yaml"), 1);
    // A verified archive is not downloaded again.
    client
        .fetch_chart("stable", &server.url, &creds, "web", "^1")
        .await
        .unwrap();
    assert_eq!(server.hits("/web-1.2.0.tgz"), 1);

    let bad = client
        .fetch_chart("stable", &server.url, &creds, "bad", "")
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::Digest { .. }), "{bad}");

    let missing = client
        .fetch_chart("stable", &server.url, &creds, "db", "")
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::ChartNotFound { .. }), "{missing}");

    let wrong = Credentials {
        username: Some("admin".into()),
        password: Some("nope".into()),
        ca_pem: None,
    };
    let denied = client.refresh(&server.url, &wrong).await.unwrap_err();
    assert_eq!(
        denied.to_string(),
        format!(
            "failed to fetch {}/index.yaml : 401 Unauthorized",
            server.url
        )
    );
}

#[tokio::test]
async fn the_index_is_read_again_after_the_interval() {
    let server = FileServer::start(
        vec![(
            "/index.yaml".into(),
            index_yaml(&[("a", "1.0.0", "a.tgz", "")]),
        )],
        None,
    )
    .await;
    let client = RepoClient::new(Duration::ZERO).unwrap();
    let none = Credentials::default();
    client.index(&server.url, &none).await.unwrap();
    client.index(&server.url, &none).await.unwrap();
    assert_eq!(server.hits("/index.yaml"), 2);
}

#[tokio::test]
async fn direct_urls_and_bad_inputs_give_typed_errors() {
    let tgz = chart_tgz("solo", "0.1.0", &[]);
    let server = FileServer::start(vec![("/solo.tgz".into(), tgz.clone())], None).await;
    let client = RepoClient::new(Duration::from_secs(60)).unwrap();
    let none = Credentials::default();
    let got = client
        .fetch_url(&format!("{}/solo.tgz", server.url), &none)
        .await
        .unwrap();
    assert_eq!(got.as_ref(), tgz.as_slice());
    let missing = client
        .fetch_url(&format!("{}/nope.tgz", server.url), &none)
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::HttpStatus { .. }), "{missing}");
    assert!(matches!(
        client.fetch_url("ftp://x/y.tgz", &none).await,
        Err(Error::Url { .. })
    ));
    let bad_ca = Credentials {
        ca_pem: Some(b"not a pem".to_vec()),
        ..Credentials::default()
    };
    assert!(matches!(
        client.fetch_url("https://127.0.0.1:1/x.tgz", &bad_ca).await,
        Err(Error::Ca { .. })
    ));
    let garbage =
        FileServer::start(vec![("/index.yaml".into(), b"entries: [1".to_vec())], None).await;
    assert!(matches!(
        client.refresh(&garbage.url, &none).await,
        Err(Error::Index { .. })
    ));
}

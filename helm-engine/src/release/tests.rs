use super::*;
use base64::Engine;
use proptest::prelude::*;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn sample() -> Release {
    let mut config = Map::new();
    config.insert("replicas".into(), Value::Int(3));
    config.insert("big".into(), Value::Float(1e6));
    config.insert("html".into(), Value::String("<a&b>".into()));
    Release {
        name: "demo".into(),
        info: Info {
            first_deployed: Time::parse_rfc3339("2025-01-02T03:04:05.123456789+01:00").unwrap(),
            last_deployed: Time::parse_rfc3339("2025-01-02T03:04:05Z").unwrap(),
            deleted: Time::ZERO,
            description: "Install complete".into(),
            status: Status::Deployed,
            notes: String::new(),
        },
        chart: ChartRecord {
            metadata: Some(ChartMetadata {
                name: "demo".into(),
                version: "0.1.0".into(),
                api_version: "v2".into(),
                app_version: "1.0".into(),
                ..Default::default()
            }),
            lock: None,
            templates: vec![ChartFileRecord {
                name: "templates/cm.yaml".into(),
                data: b"kind: ConfigMap\n".to_vec(),
            }],
            values: Some(Map::new()),
            schema: None,
            files: Vec::new(),
        },
        config,
        manifest: "---\n# Source: demo/templates/cm.yaml\nkind: ConfigMap\n".into(),
        hooks: Vec::new(),
        version: 1,
        namespace: "default".into(),
        labels: BTreeMap::new(),
    }
}

#[test]
fn json_is_what_go_marshals() {
    let json = String::from_utf8(to_json(&sample()).unwrap()).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"name":"demo","info":{"first_deployed":"2025-01-02T03:04:05.123456789+01:00","#,
            r#""last_deployed":"2025-01-02T03:04:05Z","deleted":"","description":"Install complete","#,
            r#""status":"deployed"},"chart":{"metadata":{"name":"demo","version":"0.1.0","#,
            r#""apiVersion":"v2","appVersion":"1.0"},"lock":null,"templates":[{"name":"templates/cm.yaml","#,
            r#""data":"a2luZDogQ29uZmlnTWFwCg=="}],"values":{},"schema":null,"files":null},"#,
            r#""config":{"big":1000000,"html":"\u003ca\u0026b\u003e","replicas":3},"#,
            r#""manifest":"---\n# Source: demo/templates/cm.yaml\nkind: ConfigMap\n","#,
            r#""version":1,"namespace":"default"}"#
        )
    );
}

#[test]
fn encode_then_decode() {
    let rel = sample();
    let data = encode(&rel).unwrap();
    let back = decode(data.as_bytes()).unwrap();
    // Go decodes every JSON number as float64.
    assert_eq!(back.config.get("replicas"), Some(&Value::Float(3.0)));
    assert_eq!(back.info, rel.info);
    assert_eq!(back.chart, rel.chart);
    assert_eq!(back.manifest, rel.manifest);
    // The payload is gzip at best compression inside standard base64.
    let raw = base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .unwrap();
    assert_eq!(&raw[..3], &[0x1f, 0x8b, 0x08]);
}

#[test]
fn decode_accepts_uncompressed_json() {
    let json = to_json(&sample()).unwrap();
    let rel = decode(b64(&json).as_bytes()).unwrap();
    assert_eq!(rel.name, "demo");
    assert_eq!(rel.version, 1);
}

#[test]
fn decode_errors_say_what_was_wrong() {
    assert!(matches!(decode(b"!!!"), Err(CodecError::Base64(_))));
    assert!(matches!(decode(b""), Err(CodecError::Empty)));
    let bad_gzip = b64(&[0x1f, 0x8b, 0x08, 0, 1, 2, 3]);
    assert!(matches!(
        decode(bad_gzip.as_bytes()),
        Err(CodecError::Gzip(_))
    ));
    let bad_status = b64(br#"{"name":"x","info":{"status":"sleeping"}}"#);
    match decode(bad_status.as_bytes()) {
        Err(CodecError::Json { path, message }) => {
            assert_eq!(path, "info.status");
            assert!(message.contains("sleeping"), "{message}");
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
    let bad_version = b64(br#"{"name":"x","version":"two"}"#);
    match decode(bad_version.as_bytes()) {
        Err(CodecError::Json { path, .. }) => assert_eq!(path, "version"),
        other => panic!("expected a JSON error, got {other:?}"),
    }
}

#[test]
fn decode_reads_go_zero_times_and_nulls() {
    let json = br#"{"name":"x","info":{"first_deployed":"0001-01-01T00:00:00Z","last_deployed":null,"deleted":""},"chart":{"metadata":null,"lock":null,"templates":null,"values":null,"schema":null,"files":null},"hooks":null}"#;
    let rel = from_json(json).unwrap();
    assert!(rel.info.first_deployed.is_zero());
    assert!(rel.info.last_deployed.is_zero());
    assert_eq!(rel.chart.values, None);
    assert_eq!(rel.info.status, Status::Unknown);
    assert_eq!(rel.chart_label(), "MISSING");
}

#[test]
fn times_print_as_go() {
    let t = Time::parse_rfc3339("2025-03-09T07:05:01.5-08:00").unwrap();
    assert_eq!(t.to_rfc3339(), "2025-03-09T07:05:01.5-08:00");
    assert_eq!(t.format_ansic(), "Sun Mar  9 07:05:01 2025");
    assert_eq!(
        Time::from_unix(0, 0, 0).to_rfc3339(),
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(
        Time::from_unix(0, 0, 0).format_ansic(),
        "Thu Jan  1 00:00:00 1970"
    );
    assert!(Time::parse_rfc3339("2025-02-30T00:00:00Z").is_none());
    assert!(Time::parse_rfc3339("2025-01-01 00:00:00Z").is_none());
    assert_eq!(Time::ZERO.format_ansic(), "Mon Jan  1 00:00:00 0001");
}

#[test]
fn hooks_are_split_from_resources() {
    let rendered = concat!(
        "---\n# Source: demo/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
        "---\n# Source: demo/templates/job.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n",
        "  annotations:\n    helm.sh/hook: pre-install, Post-Upgrade\n    helm.sh/hook-weight: \"-5\"\n",
        "    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n",
        "---\n# Source: demo/templates/test.yaml\nkind: Pod\nmetadata:\n  name: t\n",
        "  annotations:\n    helm.sh/hook: test-success\n    helm.sh/hook-weight: x\n",
    );
    let split = split_rendered(rendered).unwrap();
    assert_eq!(
        split.manifest,
        "---\n# Source: demo/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
    );
    assert_eq!(split.hooks.len(), 2);
    let job = &split.hooks[0];
    assert_eq!(job.name, "j");
    assert_eq!(job.kind, "Job");
    assert_eq!(job.path, "demo/templates/job.yaml");
    assert_eq!(
        job.events,
        vec![HookEvent::PreInstall, HookEvent::PostUpgrade]
    );
    assert_eq!(job.weight, -5);
    assert_eq!(
        job.delete_policies,
        vec![
            HookDeletePolicy::BeforeHookCreation,
            HookDeletePolicy::HookSucceeded
        ]
    );
    assert!(job.manifest.starts_with("apiVersion: batch/v1\nkind: Job"));
    assert!(job.manifest.ends_with("hook-succeeded"));
    let test = &split.hooks[1];
    assert_eq!(test.events, vec![HookEvent::Test]);
    assert_eq!(test.weight, 0);
    let json = String::from_utf8(
        to_json(&Release {
            hooks: vec![test.clone()],
            ..Default::default()
        })
        .unwrap(),
    )
    .unwrap();
    assert!(
        json.contains(
            r#""events":["test"],"last_run":{"started_at":"","completed_at":"","phase":""}}"#
        ),
        "{json}"
    );
}

#[test]
fn rendered_output_without_resources() {
    let split = split_rendered("\n").unwrap();
    assert_eq!(split, RenderedManifests::default());
    let only_hook = "\n---\n# Source: c/templates/h.yaml\nkind: Job\nmetadata:\n  name: h\n  annotations:\n    helm.sh/hook: post-install\n";
    let split = split_rendered(only_hook).unwrap();
    assert_eq!(split.manifest, "");
    assert_eq!(split.hooks.len(), 1);
    assert!(matches!(
        split_rendered("kind: Pod\n"),
        Err(CodecError::Manifest(_))
    ));
}

#[test]
fn lifecycle_descriptions_follow_helm() {
    let chart = Chart::default();
    let mut rel = Release::pending(NewRelease {
        name: "demo",
        namespace: "ns",
        revision: 1,
        chart: &chart,
        config: Map::new(),
        rendered: "\n",
        notes: String::new(),
        first_deployed: None,
        now: Time::from_unix(100, 0, 0),
    })
    .unwrap();
    assert_eq!(rel.info.status, Status::PendingInstall);
    assert_eq!(rel.info.description, "Initial install underway");
    assert_eq!(rel.info.first_deployed, rel.info.last_deployed);
    rel.mark_deployed();
    assert_eq!(rel.info.description, "Install complete");
    let back = Release::rollback_to(&rel, &rel, Time::from_unix(200, 0, 0));
    assert_eq!(back.version, 2);
    assert_eq!(back.info.status, Status::PendingRollback);
    assert_eq!(back.info.description, "Rollback to 1");
    assert_eq!(back.info.first_deployed, Time::from_unix(100, 0, 0));
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(Value::Int),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(Value::Int64),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        "[ -~<>&\u{2028}\u{e9}\n\t]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::btree_map("[a-z<&]{0,6}", inner, 0..4).prop_map(Value::Map),
        ]
    })
}

/// What Go's `interface{}` decoding turns a value into: every number a float64.
fn as_decoded(v: &Value) -> Value {
    match v {
        Value::Int(i) | Value::Int64(i) => Value::Float(*i as f64),
        Value::List(l) => Value::List(l.iter().map(as_decoded).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), as_decoded(v))).collect()),
        other => other.clone(),
    }
}

fn time_strategy() -> impl Strategy<Value = Time> {
    prop_oneof![
        Just(Time::ZERO),
        (
            -62_000_000_000i64..253_402_300_799,
            0u32..1_000_000_000,
            -(14 * 60i32)..(14 * 60)
        )
            .prop_map(|(s, n, off_min)| Time::from_unix(s, n, off_min * 60)),
    ]
}

fn release_strategy() -> impl Strategy<Value = Release> {
    let status = prop::sample::select(Status::ALL.to_vec());
    let hook = (
        "[a-z-]{0,8}",
        "[A-Za-z]{0,8}",
        prop::collection::vec(
            prop::sample::select(vec![
                HookEvent::PreInstall,
                HookEvent::PostUpgrade,
                HookEvent::Test,
                HookEvent::Other("crd-install".into()),
            ]),
            0..3,
        ),
        any::<i64>(),
        time_strategy(),
        prop::collection::vec(
            prop::sample::select(vec![
                HookDeletePolicy::HookFailed,
                HookDeletePolicy::Other(String::new()),
            ]),
            0..2,
        ),
    )
        .prop_map(
            |(name, kind, events, weight, started, delete_policies)| Hook {
                name,
                kind,
                path: "c/templates/h.yaml".into(),
                manifest: "kind: Job".into(),
                events,
                last_run: HookExecution {
                    started_at: started,
                    completed_at: Time::ZERO,
                    phase: "Succeeded".into(),
                },
                weight,
                delete_policies,
            },
        );
    (
        "[a-z0-9.-]{0,10}",
        (time_strategy(), time_strategy(), time_strategy(), status),
        "[ -~\n<>&]{0,30}",
        prop::collection::btree_map("[a-z]{1,5}", value_strategy(), 0..4),
        prop::collection::vec(hook, 0..3),
        any::<u32>(),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..16)),
        prop::collection::vec(
            ("[a-z/.]{1,12}", prop::collection::vec(any::<u8>(), 0..16)),
            0..3,
        ),
    )
        .prop_map(
            |(
                name,
                (first, last, deleted, status),
                text,
                config,
                hooks,
                version,
                schema,
                files,
            )| {
                Release {
                    name: name.clone(),
                    info: Info {
                        first_deployed: first,
                        last_deployed: last,
                        deleted,
                        description: text.clone(),
                        status,
                        notes: text.clone(),
                    },
                    chart: ChartRecord {
                        metadata: Some(ChartMetadata {
                            name,
                            version: "1.2.3".into(),
                            annotations: [("a".to_string(), text.clone())].into(),
                            dependencies: vec![ChartDependency {
                                name: "sub".into(),
                                enabled: true,
                                import_values: vec![Value::String("x".into())],
                                ..Default::default()
                            }],
                            ..Default::default()
                        }),
                        lock: None,
                        templates: files
                            .iter()
                            .map(|(n, d)| ChartFileRecord {
                                name: n.clone(),
                                data: d.clone(),
                            })
                            .collect(),
                        values: Some(config.clone()),
                        schema,
                        files: Vec::new(),
                    },
                    config,
                    manifest: text,
                    hooks,
                    version,
                    namespace: "ns".into(),
                    labels: BTreeMap::new(),
                }
            },
        )
}

fn normalised(mut r: Release) -> Release {
    r.config = r
        .config
        .iter()
        .map(|(k, v)| (k.clone(), as_decoded(v)))
        .collect();
    if let Some(v) = &mut r.chart.values {
        *v = v.iter().map(|(k, v)| (k.clone(), as_decoded(v))).collect();
    }
    r
}

proptest! {
    #[test]
    fn codec_round_trips(rel in release_strategy()) {
        let data = encode(&rel).unwrap();
        let back = decode(data.as_bytes()).unwrap();
        prop_assert_eq!(&back, &normalised(rel.clone()));
        // Decoding then encoding again writes the same JSON bytes (a fixed point).
        prop_assert_eq!(to_json(&back).unwrap(), to_json(&normalised(rel)).unwrap());
    }

    #[test]
    fn decode_never_panics(data in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode(&data);
        let _ = decode(b64(&data).as_bytes());
        let _ = from_json(&data);
    }

    #[test]
    fn times_round_trip(t in time_strategy()) {
        let text = t.to_rfc3339();
        prop_assert_eq!(Time::parse_rfc3339(&text), Some(t));
    }
}

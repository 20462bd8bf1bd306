//! Typed tables generated from the schemas (`ovn-model`), against a real ovsdb-server.
//!
//! For every table of OVN_Northbound, OVN_Southbound and Open_vSwitch, a row with a non-default
//! value in every column is inserted through the typed builders and selected back equal. The
//! rows form a closed graph inserted in one transaction: every reference column points at the
//! row of its target table, so non-root rows are referenced (the server would delete them
//! otherwise), strong references have their targets, weak references do not vanish, and tables
//! with `maxRows` 1 get their one row.

use std::collections::BTreeMap;

use ovn_model::nb::lookups::*;
use ovn_model::{nb, sb, vswitch};
use ovn_tests::{OvsdbServer, Schema};
use ovsdb_client::client::Client;
use ovsdb_client::typed::{
    Cond, Insert, Mutate, Ops, Ref, Select, Table, TableVisitor, TypedEvent, Update, named_uuids,
    typed_events,
};
use ovsdb_client::{
    Atom, AtomicType, BaseType, ColumnType, DatabaseSchema, Datum, Error, Max, MonitorRequests,
    Operation, Row, Uuid,
};

use crate::client_common::{config, within};

async fn connect(server: &OvsdbServer) -> Client {
    within(60, "connect", Client::connect(config(&server.remote())))
        .await
        .expect("client connects")
}

/// The uuid-name of the sample row of `table`.
fn row_name(table: &str) -> String {
    format!("sample_{table}")
}

/// A value of `base` that is not the type's default (0, "", false), inside the column's
/// constraints; `nth` picks a second distinct value for two-element sets and maps.
fn sample_atom(base: &BaseType, column: &str, nth: usize) -> Atom {
    if let Some(e) = &base.enumeration {
        // The last values: never "" or 0 in these schemas, and distinct for nth 0 and 1.
        return e[e.len().saturating_sub(1 + nth)].clone();
    }
    match base.atomic {
        AtomicType::Integer => {
            let lo = base.min_integer.unwrap_or(i64::MIN);
            let hi = base.max_integer.unwrap_or(i64::MAX);
            let want = 7 + nth as i64;
            Atom::Integer(if (lo..=hi).contains(&want) {
                want
            } else if lo > 0 {
                lo + nth as i64
            } else {
                hi - nth as i64
            })
        }
        AtomicType::Real => {
            let lo = base.min_real.unwrap_or(f64::MIN);
            let hi = base.max_real.unwrap_or(f64::MAX);
            let want = 0.5 + nth as f64;
            Atom::Real(if want >= lo && want <= hi { want } else { lo })
        }
        AtomicType::Boolean => Atom::Boolean(nth == 0),
        AtomicType::String => {
            let mut s = format!("{column}-{nth}");
            let min = base.min_length.unwrap_or(0) as usize;
            let max = base.max_length.unwrap_or(u64::MAX) as usize;
            while s.len() < min {
                s.push('x');
            }
            s.truncate(max.max(1));
            Atom::String(s)
        }
        AtomicType::Uuid => match &base.ref_table {
            Some(t) => Atom::NamedUuid(row_name(t)),
            None => Atom::Uuid(Uuid::from_u128(0x5eed_0000 + nth as u128)),
        },
    }
}

/// How many elements a non-default value of `ty` gets: two where allowed and distinct values
/// exist, else one.
fn sample_len(ty: &ColumnType) -> usize {
    let key_choices = match (&ty.key.enumeration, ty.key.atomic, &ty.key.ref_table) {
        (Some(e), _, _) => e.len(),
        (None, AtomicType::Boolean, _) => 2,
        (None, AtomicType::Uuid, Some(_)) => 1,
        _ => 2,
    };
    let allowed = match ty.max {
        Max::Limited(m) => m as usize,
        Max::Unlimited => 2,
    };
    allowed.min(2).min(key_choices).max(1)
}

/// A non-default value for every column of every table, references named after their targets.
fn sample_rows(schema: &DatabaseSchema) -> BTreeMap<String, Row> {
    schema
        .tables
        .iter()
        .map(|(tname, table)| {
            let row = table
                .columns
                .iter()
                .map(|(cname, col)| {
                    let ty = &col.ty;
                    let n = sample_len(ty);
                    let datum =
                        match &ty.value {
                            Some(v) => Datum::map((0..n).map(|i| {
                                (sample_atom(&ty.key, cname, i), sample_atom(v, cname, i))
                            })),
                            None => Datum::set((0..n).map(|i| sample_atom(&ty.key, cname, i))),
                        };
                    assert_eq!(datum.len(), n, "{tname}.{cname}: sample values collide");
                    ty.check(&datum)
                        .unwrap_or_else(|e| panic!("{tname}.{cname}: bad sample {datum}: {e}"));
                    (cname.clone(), datum)
                })
                .collect();
            (tname.clone(), row)
        })
        .collect()
}

/// Replaces named UUIDs by the UUIDs the server gave.
fn resolve(row: &Row, names: &BTreeMap<String, Uuid>) -> Row {
    let fix = |a: &Atom| match a {
        Atom::NamedUuid(n) => Atom::Uuid(names[n]),
        other => other.clone(),
    };
    row.iter()
        .map(|(c, d)| {
            let d = match d {
                Datum::Set(s) => Datum::set(s.iter().map(fix)),
                Datum::Map(m) => Datum::map(m.iter().map(|(k, v)| (fix(k), fix(v)))),
            };
            (c.clone(), d)
        })
        .collect()
}

/// Builds the typed insert of each table's sample row.
struct Inserts<'a> {
    samples: &'a BTreeMap<String, Row>,
    ops: Vec<Operation>,
}

impl TableVisitor for Inserts<'_> {
    fn visit<T: Table>(&mut self) {
        let wire = &self.samples[T::TABLE_NAME];
        let row = T::from_row(Uuid::nil(), wire)
            .unwrap_or_else(|e| panic!("{}: sample does not decode: {e}", T::TABLE_NAME));
        assert_eq!(&row.to_row(), wire, "{}: typed row is lossy", T::TABLE_NAME);
        let op = Insert::new(row)
            .named(row_name(T::TABLE_NAME))
            .build()
            .unwrap_or_else(|e| panic!("{}: sample does not validate: {e}", T::TABLE_NAME));
        self.ops.push(op);
    }
}

/// Builds a typed select of each table.
struct Selects {
    ops: Vec<Operation>,
}

impl TableVisitor for Selects {
    fn visit<T: Table>(&mut self) {
        self.ops.push(Select::<T>::new().build());
    }
}

/// Compares each table's selected row with its sample, in the order of [`Selects`].
struct Checks<'a> {
    results: std::vec::IntoIter<ovsdb_client::OperationResult>,
    samples: &'a BTreeMap<String, Row>,
    names: &'a BTreeMap<String, Uuid>,
    checked: Vec<&'static str>,
}

impl TableVisitor for Checks<'_> {
    fn visit<T: Table>(&mut self) {
        let table = T::TABLE_NAME;
        let result = self.results.next().expect("one result per table");
        let got = Select::<T>::rows(&result)
            .unwrap_or_else(|e| panic!("{table}: selected row does not decode: {e}"));
        assert_eq!(got.len(), 1, "{table}: expected exactly the sample row");
        let got = &got[0];
        let uuid = self.names[&row_name(table)];
        assert_eq!(got.uuid(), uuid, "{table}: wrong row");
        assert!(got.version().is_some(), "{table}: no _version");
        let mut expected_row = resolve(&self.samples[table], self.names);
        expected_row.insert("_version".into(), Datum::scalar(got.version().unwrap()));
        let expected = T::from_row(uuid, &expected_row).unwrap_or_else(|e| panic!("{table}: {e}"));
        assert_eq!(got, &expected, "{table}: selected row differs");
        let got_row = got.to_row();
        for c in T::COLUMNS {
            assert_ne!(
                got_row[c.name],
                c.default_datum(),
                "{table}.{}: the server kept a default value",
                c.name
            );
        }
        self.checked.push(table);
    }
}

macro_rules! every_table_round_trips {
    ($test:ident, $module:ident, $schema:expr, $source:expr) => {
        #[tokio::test]
        async fn $test() {
            let source = $source;
            let server = OvsdbServer::builder($schema)
                .start()
                .expect("ovsdb-server starts");
            let client = connect(&server).await;
            let schema = source.schema().unwrap();
            let db = $module::DATABASE;
            assert_eq!(schema.name, db);
            let samples = sample_rows(&schema);

            let mut inserts = Inserts {
                samples: &samples,
                ops: Vec::new(),
            };
            $module::visit_tables(&mut inserts);
            assert_eq!(inserts.ops.len(), schema.tables.len());
            let results = client
                .transact(db, &inserts.ops)
                .await
                .unwrap_or_else(|e| panic!("inserting the sample graph of {db}: {e}"));
            let names = named_uuids(&inserts.ops, &results);
            assert_eq!(names.len(), schema.tables.len());

            let mut selects = Selects { ops: Vec::new() };
            $module::visit_tables(&mut selects);
            let results = client.transact(db, &selects.ops).await.unwrap();
            let mut checks = Checks {
                results: results.into_iter(),
                samples: &samples,
                names: &names,
                checked: Vec::new(),
            };
            $module::visit_tables(&mut checks);
            assert_eq!(checks.checked, $module::TABLE_NAMES);
        }
    };
}

every_table_round_trips!(
    typed_every_nb_table_round_trips,
    nb,
    Schema::Northbound,
    ovn_model::SCHEMAS[0]
);
every_table_round_trips!(
    typed_every_sb_table_round_trips,
    sb,
    Schema::Southbound,
    ovn_model::SCHEMAS[1]
);
every_table_round_trips!(
    typed_every_vswitch_table_round_trips,
    vswitch,
    Schema::OpenVswitch,
    ovn_model::SCHEMAS[2]
);

/// The next batch of events that concerns Logical_Switch_Port, typed.
async fn next_port_events(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<ovsdb_client::Event>>,
    what: &str,
) -> Vec<TypedEvent<nb::LogicalSwitchPort>> {
    within(30, what, async {
        loop {
            let batch = events.recv().await.expect("the monitor is alive");
            let typed: Vec<_> = typed_events::<nb::LogicalSwitchPort>(&batch)
                .map(Result::unwrap)
                .collect();
            if !typed.is_empty() {
                return typed;
            }
        }
    })
    .await
}

/// Typed builders with same-transaction references, a typed replica view with index lookups
/// and typed events, all against the server.
#[tokio::test]
async fn typed_replica_views_lookups_and_events() {
    let server = OvsdbServer::nb().expect("ovsdb-server starts");
    let client = connect(&server).await;
    let db = nb::DATABASE;
    let mut replicated = client
        .replicate(db, MonitorRequests::new())
        .await
        .expect("replicate");

    let mut ops = Ops::new();
    let port: Ref<nb::LogicalSwitchPort> = ops
        .insert(nb::LogicalSwitchPort {
            name: "p1".into(),
            addresses: ["0a:00:00:00:00:01 10.0.0.1".to_owned()].into(),
            tag_request: Some(42),
            external_ids: [("pod".to_owned(), "a".to_owned())].into(),
            ..Default::default()
        })
        .unwrap();
    ops.insert(nb::LogicalSwitch {
        name: "sw0".into(),
        ports: [port].into(),
        ..Default::default()
    })
    .unwrap();
    let ops = ops.into_operations();
    let results = client.transact(db, &ops).await.unwrap();
    let names = named_uuids(&ops, &results);
    let port_uuid = names["row1_Logical_Switch_Port"];

    // Typed events of the insert.
    let inserted = next_port_events(&mut replicated.events, "insert events").await;
    assert_eq!(inserted.len(), 1);
    let TypedEvent::Insert { new } = &inserted[0] else {
        panic!("expected an insert, got {:?}", inserted[0])
    };
    assert_eq!((new.name.as_str(), new.tag_request), ("p1", Some(42)));
    assert_eq!(new._uuid, port_uuid);

    {
        let replica = replicated.replica.read().unwrap();
        let ports = replica.typed::<nb::LogicalSwitchPort>();
        let p1 = ports.by_name("p1").unwrap().expect("p1 by its index");
        assert_eq!(p1.external_ids["pod"], "a");
        let switches = replica.typed::<nb::LogicalSwitch>();
        let sw0 = switches.by_name("sw0").unwrap();
        assert_eq!(sw0.len(), 1);
        let via_ref = ports
            .resolve(sw0[0].ports.iter().next().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(via_ref, p1);
        assert_eq!(ports.iter().count(), 1);
    }

    // A typed update and a typed mutate show up as a typed modify.
    let ops = [
        Update::<nb::LogicalSwitchPort>::new()
            .filter(nb::LogicalSwitchPort::NAME.eq("p1"))
            .set(nb::LogicalSwitchPort::ENABLED, Some(false))
            .build()
            .unwrap(),
        Mutate::<nb::LogicalSwitchPort>::new()
            .filter(Cond::uuid(port_uuid))
            .apply(nb::LogicalSwitchPort::EXTERNAL_IDS.insert(("ns".to_owned(), "b".to_owned())))
            .build()
            .unwrap(),
    ];
    client.transact(db, &ops).await.unwrap();
    let modified = next_port_events(&mut replicated.events, "modify events").await;
    let [TypedEvent::Modify { old, new }] = modified.as_slice() else {
        panic!("expected one modify, got {modified:?}")
    };
    assert_eq!(old.enabled, None);
    assert_eq!(new.enabled, Some(false));
    assert_eq!(new.external_ids.get("ns").map(String::as_str), Some("b"));
}

/// Validation refuses bad values before anything reaches the server.
#[tokio::test]
async fn typed_validation_rejects_before_sending() {
    let server = OvsdbServer::nb().expect("ovsdb-server starts");
    let client = connect(&server).await;
    let bad_tag = nb::LogicalSwitchPort {
        name: "p".into(),
        tag_request: Some(4096),
        ..Default::default()
    };
    match Insert::new(bad_tag).build() {
        Err(Error::InvalidValue {
            table,
            column,
            reason,
        }) => {
            assert_eq!(
                (table.as_str(), column.as_str()),
                ("Logical_Switch_Port", "tag_request")
            );
            assert!(reason.contains("4096"), "{reason}");
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    // A set beyond its maximum size: Flow_Table.prefixes holds at most 3 fields.
    let too_many = vswitch::FlowTable {
        prefixes: ["ip_src", "ip_dst", "ipv6_src", "ipv6_dst"]
            .map(String::from)
            .into(),
        ..Default::default()
    };
    match Insert::new(too_many).build() {
        Err(Error::InvalidValue {
            table,
            column,
            reason,
        }) => {
            assert_eq!(
                (table.as_str(), column.as_str()),
                ("Flow_Table", "prefixes")
            );
            assert!(
                reason.contains("at most 3") && reason.contains("ipv6_src"),
                "{reason}"
            );
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    // An enum value outside the schema cannot even be written: the enum type has no such
    // value, and parsing one is a typed error.
    let err = "permit".parse::<nb::AclAction>().unwrap_err();
    assert!(err.to_string().contains("ACL.action"), "{err}");
    // The same check the server makes: the server agrees that 4096 is out of range.
    let raw = Operation::insert(
        "Logical_Switch_Port",
        [
            ("name".to_owned(), Datum::scalar("p")),
            ("tag_request".to_owned(), Datum::scalar(4096)),
        ]
        .into(),
    );
    let err = client.transact(nb::DATABASE, &[raw]).await.unwrap_err();
    assert!(err.to_string().contains("constraint violation"), "{err}");
}

/// A server whose schema is newer than the generated code (here: one more `ACL.action`) sends
/// an enum value the code does not know: reading that row is a typed error naming the table,
/// the column and the value, not a panic; other tables read fine.
#[tokio::test]
async fn typed_unknown_enum_from_a_newer_server_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut json: serde_json::Value = serde_json::from_str(ovn_model::SCHEMAS[0].json).unwrap();
    json["tables"]["ACL"]["columns"]["action"]["type"]["key"]["enum"][1]
        .as_array_mut()
        .unwrap()
        .push("pass".into());
    let path = dir.path().join("newer-nb.ovsschema");
    std::fs::write(&path, json.to_string()).unwrap();
    let server = OvsdbServer::builder(Schema::File(path))
        .start()
        .expect("ovsdb-server starts");
    let client = connect(&server).await;
    let acl: Row = [
        ("priority".to_owned(), Datum::scalar(100)),
        ("match".to_owned(), Datum::scalar("ip4")),
        ("direction".to_owned(), Datum::scalar("to-lport")),
        ("action".to_owned(), Datum::scalar("pass")),
    ]
    .into();
    let sw: Row = [
        ("name".to_owned(), Datum::scalar("sw")),
        (
            "acls".to_owned(),
            Datum::scalar(Atom::NamedUuid("acl".into())),
        ),
    ]
    .into();
    client
        .transact(
            nb::DATABASE,
            &[
                Operation::insert_named("ACL", acl, "acl"),
                Operation::insert("Logical_Switch", sw),
            ],
        )
        .await
        .unwrap();
    let results = client
        .transact(
            nb::DATABASE,
            &[
                Select::<nb::Acl>::new().build(),
                Select::<nb::LogicalSwitch>::new().build(),
            ],
        )
        .await
        .unwrap();
    match Select::<nb::Acl>::rows(&results[0]) {
        Err(Error::InvalidValue {
            table,
            column,
            reason,
        }) => {
            assert_eq!((table.as_str(), column.as_str()), ("ACL", "action"));
            assert!(reason.contains("\"pass\""), "{reason}");
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    let switches = Select::<nb::LogicalSwitch>::rows(&results[1]).unwrap();
    assert_eq!(switches[0].acls.len(), 1);
}

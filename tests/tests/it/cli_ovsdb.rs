//! `ovsdb-cli` against OVS's `ovsdb-client`: the same arguments on the same server must give
//! the same stdout and exit status (rows within one monitor update may come in another order).

use std::path::Path;

use ovn_tests::{OvsdbServer, Pki, Schema};

use crate::cli_common::{Running, Tool, assert_same, normalize_update, run};

/// NB contents that exercise every kind of value: maps and sets (empty, one element, many),
/// references, integers at their limits, booleans, and strings that need escaping or quoting
/// (control characters, quotes, backslashes, `/`, non-ASCII, emoji, `true`, empty, UUID-like).
const NB_CONTENTS: &str = r#"["OVN_Northbound",
 {"op":"insert","table":"Logical_Switch","row":{"name":"sw0",
   "external_ids":["map",[["a","b"],["k\u0001","v/é\"\\\n\t"],["emoji","😀"],["empty",""],["uuid-like","6f19879f-5fa9-4177-a7b6-617bcdab49ea"]]],
   "other_config":["map",[["mcast_snoop","true"]]],
   "ports":["set",[["named-uuid","p1"],["named-uuid","p2"]]],
   "acls":["named-uuid","acl1"],
   "qos_rules":["named-uuid","qos1"]}},
 {"op":"insert","table":"Logical_Switch","row":{"name":"","external_ids":["map",[["true","false"]]]}},
 {"op":"insert","table":"Logical_Switch","row":{"name":"true"}},
 {"op":"insert","table":"Logical_Switch","row":{"name":"a b\u001f\u007f/\\"}},
 {"op":"insert","table":"Logical_Switch_Port","uuid-name":"p1","row":{"name":"p1",
   "addresses":["set",["00:00:00:00:00:01 10.0.0.1","router"]],"tag_request":5,"enabled":true,
   "port_security":"00:00:00:00:00:01 10.0.0.1","options":["map",[["requested-chassis","ch1"]]]}},
 {"op":"insert","table":"Logical_Switch_Port","uuid-name":"p2","row":{"name":"p2","type":"localnet",
   "enabled":false,"up":false,"tag_request":0}},
 {"op":"insert","table":"ACL","uuid-name":"acl1","row":{"priority":1001,"direction":"to-lport",
   "match":"ip4.src == $as1 && tcp.dst == 80","action":"allow-related","log":true,
   "severity":"info","name":"acl-name","label":4294967295,"meter":"m"}},
 {"op":"insert","table":"QoS","uuid-name":"qos1","row":{"priority":10,"direction":"from-lport",
   "match":"1","action":["map",[["dscp",63]]],"bandwidth":["map",[["rate",1000],["burst",4294967295]]]}},
 {"op":"insert","table":"Address_Set","row":{"name":"as1","addresses":["set",["10.0.0.1","10.0.0.2","fe80::1"]]}},
 {"op":"insert","table":"Address_Set","row":{"name":"as_empty"}},
 {"op":"insert","table":"Load_Balancer","row":{"name":"lb","protocol":"tcp",
   "vips":["map",[["10.0.0.1:80","10.0.0.2:80,10.0.0.3:80"],["[fe80::1]:443","[fe80::2]:443"]]],
   "selection_fields":["set",["ip_src","ip_dst"]]}},
 {"op":"insert","table":"NB_Global","row":{"name":"global","nb_cfg":-9223372036854775808,
   "sb_cfg":9223372036854775807,"options":["map",[["k","v"]]]}},
 {"op":"insert","table":"Logical_Router","row":{"name":"lr0","enabled":true,"static_routes":["named-uuid","r1"]}},
 {"op":"insert","table":"Logical_Router_Static_Route","uuid-name":"r1","row":{"ip_prefix":"0.0.0.0/0",
   "nexthop":"10.0.0.254","policy":"dst-ip"}},
 {"op":"insert","table":"Meter","row":{"name":"m","unit":"kbps","bands":["named-uuid","band1"],"fair":true}},
 {"op":"insert","table":"Meter_Band","uuid-name":"band1","row":{"action":"drop","rate":1,"burst_size":0}}
]"#;

fn populated_nb() -> OvsdbServer {
    let nb = OvsdbServer::nb().expect("NB server starts");
    nb.transact(NB_CONTENTS).expect("NB contents inserted");
    nb
}

fn dir(server: &OvsdbServer) -> &Path {
    server.dir()
}

#[test]
fn cli_schema_commands_match_ovsdb_client() {
    let nb = OvsdbServer::nb().expect("NB server starts");
    let d = dir(&nb);
    let s = nb.unix_remote();
    for args in [
        vec!["list-dbs", &s],
        vec!["get-schema", &s],
        vec!["get-schema", &s, "OVN_Northbound"],
        vec!["get-schema", &s, "_Server"],
        vec!["--pretty", "get-schema", &s, "_Server"],
        vec!["list-tables", &s],
        vec!["list-tables", &s, "OVN_Northbound"],
        vec!["list-tables", &s, "_Server"],
        vec!["list-tables", &s, "--format=json"],
        vec!["list-tables", &s, "--format=csv"],
        vec!["list-tables", &s, "--format=list"],
        vec!["list-tables", &s, "--format=html"],
        vec!["list-tables", &s, "--no-headings"],
        vec!["-f", "json", "list-tables", &s, "_Server"],
    ] {
        let out = assert_same(d, &args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn cli_schema_commands_match_on_southbound_and_open_vswitch() {
    for schema in [Schema::Southbound, Schema::OpenVswitch] {
        let server = OvsdbServer::builder(schema).start().expect("server starts");
        let s = server.unix_remote();
        for args in [
            vec!["get-schema", &s],
            vec!["list-tables", &s],
            vec!["dump", &s, "--format=json"],
        ] {
            let out = assert_same(dir(&server), &args);
            assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        }
    }
}

#[test]
fn cli_dump_matches_ovsdb_client_in_every_format() {
    let nb = populated_nb();
    let d = dir(&nb);
    let s = nb.unix_remote();
    for args in [
        vec!["dump", &s, "--format=json"],
        vec!["dump", &s, "OVN_Northbound", "--format=json"],
        vec!["--pretty", "dump", &s, "--format=json"],
        vec!["dump", &s],
        vec!["dump", &s, "--format=list"],
        vec!["dump", &s, "--format=csv"],
        vec!["dump", &s, "--format=html"],
        vec!["dump", &s, "--format=html", "--no-headings"],
        vec!["dump", &s, "--bare"],
        vec!["dump", &s, "--data=json"],
        vec!["dump", &s, "--no-headings"],
        vec![
            "dump",
            &s,
            "OVN_Northbound",
            "Logical_Switch",
            "--format=json",
        ],
        vec![
            "dump",
            &s,
            "OVN_Northbound",
            "Logical_Switch",
            "name",
            "external_ids",
            "--format=json",
        ],
        vec![
            "dump",
            &s,
            "OVN_Northbound",
            "Logical_Switch_Port",
            "name",
            "_uuid",
        ],
        vec!["dump", &s, "_Server", "--format=json"],
    ] {
        let out = assert_same(d, &args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn cli_transact_matches_ovsdb_client() {
    let nb = populated_nb();
    let d = dir(&nb);
    let s = nb.unix_remote();
    // Transactions that leave the database as it was, so both tools see the same state.
    let transactions = [
        r#"["OVN_Northbound",{"op":"select","table":"Logical_Switch","where":[]}]"#,
        r#"["OVN_Northbound",{"op":"select","table":"Logical_Switch_Port","where":[["name","==","p1"]],"columns":["addresses","tag_request","enabled","options","_uuid"]}]"#,
        r#"["OVN_Northbound",{"op":"select","table":"NB_Global","where":[]},{"op":"select","table":"ACL","where":[["label",">",0]]},{"op":"select","table":"QoS","where":[]}]"#,
        r#"["OVN_Northbound",{"op":"select","table":"Load_Balancer","where":[],"columns":["vips","selection_fields","protocol"]}]"#,
        r#"["OVN_Northbound",{"op":"comment","comment":"nothing"},{"op":"update","table":"Logical_Switch","where":[["name","==","absent"]],"row":{"external_ids":["map",[]]}},{"op":"mutate","table":"Logical_Switch","where":[["name","==","absent"]],"mutations":[["external_ids","insert",["map",[["x","y"]]]]]},{"op":"delete","table":"Address_Set","where":[["name","==","absent"]]}]"#,
        r#"["OVN_Northbound",{"op":"wait","table":"Logical_Switch","timeout":0,"where":[["name","==","sw0"]],"columns":["name"],"until":"==","rows":[{"name":"sw0"}]}]"#,
        r#"["OVN_Northbound",{"op":"wait","table":"Logical_Switch","timeout":0,"where":[["name","==","sw0"]],"columns":["name"],"until":"!=","rows":[{"name":"sw0"}]}]"#,
        r#"["OVN_Northbound",{"op":"insert","table":"Logical_Switch_Port","row":{"name":"bad","tag_request":5000}}]"#,
        r#"["OVN_Northbound",{"op":"select","table":"Logical_Switch","where":[]},{"op":"abort"}]"#,
        r#"["OVN_Northbound",{"op":"select","table":"NoSuchTable","where":[]}]"#,
        r#"["OVN_Northbound",{"op":"frobnicate"}]"#,
        r#"  [ "OVN_Northbound" , { "op" : "select" , "table" : "Meter" , "where" : [ ] , "columns" : [ "fair" , "bands" ] } ]  "#,
        r#"["_Server",{"op":"select","table":"Database","where":[],"columns":["name","model","connected","leader","schema"]}]"#,
    ];
    for txn in transactions {
        assert_same(d, &["transact", &s, txn]);
        assert_same(d, &["--pretty", "transact", &s, txn]);
    }
    // Failures: exit status 1 from both, for the same reasons.
    for txn in [
        r#"["NoSuchDb",{"op":"select","table":"X","where":[]}]"#,
        r#"["OVN_Northbound",{"op":"select""#,
        r#"{}"#,
        r#"[]"#,
        r#"[1]"#,
        r#""OVN_Northbound""#,
        "not json",
    ] {
        let out = assert_same(d, &["transact", &s, txn]);
        assert_eq!(out.code, Some(1), "{txn}");
    }
}

#[test]
fn cli_transact_inserts_like_ovsdb_client() {
    // An insert prints a new UUID, so each tool inserts its own row and the outputs agree
    // once the UUIDs are masked; afterwards both rows are in the database.
    let nb = OvsdbServer::nb().expect("NB server starts");
    let d = dir(&nb);
    let s = nb.unix_remote();
    let mask = |text: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(text).expect("result is JSON");
        let mut v = v;
        v[0]["uuid"][1] = "UUID".into();
        v.to_string()
    };
    let mut outputs = Vec::new();
    for (tool, name) in [(Tool::Reference, "by-c"), (Tool::UnderTest, "by-rust")] {
        let txn = format!(
            r#"["OVN_Northbound",{{"op":"insert","table":"Logical_Switch","row":{{"name":"{name}"}}}},{{"op":"comment","comment":"c"}}]"#
        );
        let out = run(tool, d, &["transact", &s, &txn]);
        assert_eq!(out.code, Some(0), "{tool:?}: {}", out.stderr);
        outputs.push(mask(&out.stdout));
    }
    assert_eq!(outputs[0], outputs[1]);
    let names = nb
        .ovsdb_client("dump", ["OVN_Northbound", "Logical_Switch", "name"])
        .expect("dump");
    assert!(
        names.contains("by-c") && names.contains("by-rust"),
        "{names}"
    );
}

/// Starts both monitors with `args`, waits for `initial` lines from each, applies the
/// transactions one by one (each must print one more line in both), and compares.
fn compare_monitors(nb: &OvsdbServer, args: &[&str], initial: usize, transactions: &[&str]) {
    let d = dir(nb);
    log_requests(nb);
    let reference = Running::start(Tool::Reference, d, args);
    let ours = Running::start(Tool::UnderTest, d, args);
    // No output marks the end of an empty initial reply, so a transaction made right away
    // could be seen by one monitor's initial contents and by the other's first update. The
    // `_Server` monitor both start with shows up in the server's connection count instead.
    reference.wait_lines(initial);
    ours.wait_lines(initial);
    wait_for_monitors(nb, 2);
    let mut expected = initial;
    for txn in transactions {
        nb.transact(txn).expect("transaction applies");
        expected += 1;
        reference.wait_lines(expected);
        ours.wait_lines(expected);
    }
    let normalize = |lines: Vec<String>| -> Vec<String> {
        if args.contains(&"--format=json") {
            lines.iter().map(|l| normalize_update(l)).collect()
        } else {
            lines
        }
    };
    assert_eq!(
        normalize(ours.lines()),
        normalize(reference.lines()),
        "monitor {args:?}"
    );
}

/// Makes the server log every JSON-RPC message, which [`wait_for_monitors`] reads.
fn log_requests(server: &OvsdbServer) {
    server
        .appctl(["vlog/set", "jsonrpc:file:dbg"])
        .expect("jsonrpc debug logging on");
}

/// Waits until the server has received `n` `monitor` requests (see [`log_requests`]): it
/// registers a monitor as it receives the request, so updates made afterwards reach it. (An
/// empty initial reply prints nothing, so the tools' output cannot tell.)
fn wait_for_monitors(server: &OvsdbServer, n: usize) {
    ovn_tests::wait_until(
        ovn_tests::DEFAULT_TIMEOUT,
        "monitor requests received",
        || server.log().matches("method=\"monitor\"").count() >= n,
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

const INSERT_SW: &str = r#"["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":"sw-new","external_ids":["map",[["k","é\u0002"]]],"other_config":["map",[["x","1"]]]}}]"#;
const MODIFY_SW: &str = r#"["OVN_Northbound",{"op":"update","table":"Logical_Switch","where":[["name","==","sw-new"]],"row":{"external_ids":["map",[]],"other_config":["map",[["x","2"],["y","3"]]]}}]"#;
const MODIFY_TWO: &str = r#"["OVN_Northbound",{"op":"mutate","table":"Logical_Switch","where":[],"mutations":[["other_config","insert",["map",[["bulk","yes"]]]]]}]"#;
const DELETE_SW: &str = r#"["OVN_Northbound",{"op":"delete","table":"Logical_Switch","where":[["name","==","sw-new"]]}]"#;

#[test]
fn cli_monitor_matches_ovsdb_client() {
    let nb = populated_nb();
    let s = nb.unix_remote();
    compare_monitors(
        &nb,
        &[
            "monitor",
            &s,
            "OVN_Northbound",
            "Logical_Switch",
            "--format=json",
        ],
        1,
        &[INSERT_SW, MODIFY_SW, MODIFY_TWO, DELETE_SW],
    );
}

#[test]
fn cli_monitor_with_columns_matches_ovsdb_client() {
    let nb = populated_nb();
    let s = nb.unix_remote();
    // Columns in the given order, _uuid and _version allowed, groups with the same kinds.
    compare_monitors(
        &nb,
        &[
            "monitor",
            &s,
            "Logical_Switch",
            "other_config,name,_uuid",
            "_version",
            "--format=json",
        ],
        1,
        &[INSERT_SW, MODIFY_SW, DELETE_SW],
    );
}

#[test]
fn cli_monitor_change_kinds_match_ovsdb_client() {
    let nb = populated_nb();
    let s = nb.unix_remote();
    // No initial contents, no deletes: only the insert and the modify print.
    let reference_args = [
        "monitor",
        &s,
        "OVN_Northbound",
        "Logical_Switch",
        "!initial,name,external_ids,!delete",
        "--format=json",
    ];
    compare_monitors(&nb, &reference_args, 0, &[INSERT_SW, MODIFY_SW]);
}

#[test]
fn cli_monitor_in_table_format_matches_ovsdb_client() {
    // One row per update, so the text table's row order is fixed. The initial contents print
    // headings, dashes and the row; each update a blank line, headings, dashes and its rows.
    let nb = OvsdbServer::nb().expect("NB server starts");
    nb.transact(r#"["OVN_Northbound",{"op":"insert","table":"Address_Set","row":{"name":"as1","addresses":"10.0.0.1"}}]"#)
        .expect("row inserted");
    let s = nb.unix_remote();
    let d = dir(&nb);
    log_requests(&nb);
    let args = ["monitor", &s, "Address_Set", "name,addresses"];
    let reference = Running::start(Tool::Reference, d, &args);
    let ours = Running::start(Tool::UnderTest, d, &args);
    reference.wait_lines(3);
    ours.wait_lines(3);
    wait_for_monitors(&nb, 2);
    let mut n = 3;
    for (txn, rows) in [
        (
            r#"["OVN_Northbound",{"op":"insert","table":"Address_Set","row":{"name":"as2","addresses":["set",["1.1.1.1"]]}}]"#,
            1,
        ),
        (
            r#"["OVN_Northbound",{"op":"update","table":"Address_Set","where":[["name","==","as2"]],"row":{"addresses":["set",["1.1.1.1","2.2.2.2","a b"]]}}]"#,
            2,
        ),
        (
            r#"["OVN_Northbound",{"op":"delete","table":"Address_Set","where":[["name","==","as1"]]}]"#,
            1,
        ),
    ] {
        nb.transact(txn).expect("transaction applies");
        n += 3 + rows;
        reference.wait_lines(n);
        ours.wait_lines(n);
    }
    assert_eq!(ours.lines(), reference.lines());
}

#[test]
fn cli_monitor_all_matches_ovsdb_client() {
    let nb = populated_nb();
    let s = nb.unix_remote();
    // ALL: one line per table with rows, each with its table as caption; an update touching
    // two tables prints two lines.
    let d = dir(&nb);
    log_requests(&nb);
    let args = ["monitor", &s, "ALL", "--format=json"];
    let reference = Running::start(Tool::Reference, d, &args);
    let ours = Running::start(Tool::UnderTest, d, &args);
    // Tables with rows: ACL, Address_Set, Load_Balancer, Logical_Router,
    // Logical_Router_Static_Route, Logical_Switch, Logical_Switch_Port, Meter, Meter_Band,
    // NB_Global, QoS.
    reference.wait_lines(11);
    ours.wait_lines(11);
    wait_for_monitors(&nb, 2);
    nb.transact(
        r#"["OVN_Northbound",{"op":"insert","table":"Address_Set","row":{"name":"as3"}},{"op":"insert","table":"Copp","row":{"name":"c","meters":["map",[["arp","m"]]]}}]"#,
    )
    .expect("transaction applies");
    reference.wait_lines(13);
    ours.wait_lines(13);
    let normalize =
        |l: Vec<String>| -> Vec<String> { l.iter().map(|x| normalize_update(x)).collect() };
    assert_eq!(normalize(ours.lines()), normalize(reference.lines()));
}

#[test]
fn cli_monitor_exits_when_the_server_goes_away() {
    let mut nb = OvsdbServer::nb().expect("NB server starts");
    let s = nb.unix_remote();
    let d = dir(&nb).to_path_buf();
    let args = ["monitor", &s, "Logical_Switch", "--format=json"];
    log_requests(&nb);
    let reference = Running::start(Tool::Reference, &d, &args);
    let ours = Running::start(Tool::UnderTest, &d, &args);
    wait_for_monitors(&nb, 2);
    nb.kill().expect("server killed");
    let (reference_code, _) = reference.wait_exit();
    let (code, stderr) = ours.wait_exit();
    assert_eq!(code, reference_code);
    assert!(stderr.contains("ovsdb-cli: "), "{stderr}");
}

#[test]
fn cli_errors_match_ovsdb_client() {
    let nb = populated_nb();
    let d = dir(&nb);
    let s = nb.unix_remote();
    let missing = format!("unix:{}/missing.sock", d.display());
    for args in [
        vec!["list-dbs", missing.as_str()],
        vec!["list-dbs", "tcp:127.0.0.1:1"],
        vec!["list-dbs", "bogus:x"],
        vec!["get-schema", &s, "NoSuchDb"],
        vec!["get-schema", &s, "OVN_Northbound", "extra"],
        vec!["list-tables", &s, "OVN_Northbound", "extra"],
        vec!["dump", &s, "OVN_Northbound", "NoTable"],
        vec!["dump", &s, "OVN_Northbound", "Logical_Switch", "nocol"],
        vec!["monitor", &s, "OVN_Northbound", "NoTable"],
        vec!["monitor", &s, "OVN_Northbound", "Logical_Switch", "nocol"],
        vec![
            "monitor",
            &s,
            "OVN_Northbound",
            "Logical_Switch",
            "name,name",
        ],
        vec![
            "monitor",
            &s,
            "OVN_Northbound",
            "Logical_Switch",
            "name",
            "name",
        ],
        vec!["monitor", &s],
        vec!["transact"],
        vec!["transact", "a", "b", "c"],
        vec!["frobnicate"],
        vec![],
        vec!["--format=xml", "list-dbs", &s],
        vec!["--data=xml", "list-dbs", &s],
        vec!["dump", &s, "--no-such-option"],
    ] {
        let out = assert_same(d, &args);
        assert_eq!(out.code, Some(1), "{args:?}");
    }
}

#[test]
fn cli_default_server_and_relative_paths_match_ovsdb_client() {
    let nb = populated_nb();
    let d = dir(&nb);
    // The default server is unix:$OVS_RUNDIR/db.sock; relative unix: paths are in
    // $OVS_RUNDIR too, whatever the working directory.
    std::os::unix::fs::symlink(nb.socket_path(), d.join("db.sock")).expect("db.sock link");
    let socket_name = nb
        .socket_path()
        .file_name()
        .and_then(|n| n.to_str())
        .expect("socket file name")
        .to_owned();
    let relative = format!("unix:{socket_name}");
    for args in [
        vec!["list-dbs"],
        vec!["get-schema"],
        vec!["list-tables"],
        vec!["list-tables", "_Server"],
        vec!["dump", "--format=json"],
        vec!["dump", "Logical_Switch", "name", "--format=json"],
        vec![
            "transact",
            r#"["OVN_Northbound",{"op":"select","table":"Meter","where":[]}]"#,
        ],
        vec!["list-dbs", relative.as_str()],
        vec!["dump", relative.as_str(), "Address_Set", "--format=json"],
    ] {
        let out = assert_same(d, &args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn cli_matches_ovsdb_client_over_ssl() {
    let pki = Pki::new().expect("PKI made");
    let nb = OvsdbServer::builder(Schema::Northbound)
        .ssl(&pki)
        .start()
        .expect("NB server with pssl starts");
    nb.transact(NB_CONTENTS).expect("NB contents inserted");
    let d = dir(&nb);
    let remote = nb.ssl_remote().expect("ssl remote");
    let client = pki.client();
    let key = client.private_key.display().to_string();
    let cert = client.certificate.display().to_string();
    let ca = pki.ca_certificate().display().to_string();
    let long = [
        format!("--private-key={key}"),
        format!("--certificate={cert}"),
        format!("--ca-cert={ca}"),
    ];
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    let short = ["-p", key.as_str(), "-c", cert.as_str(), "-C", ca.as_str()];
    for tls in [&long[..], &short[..]] {
        for command in [
            vec!["list-dbs", remote.as_str()],
            vec!["get-schema", remote.as_str()],
            vec!["list-tables", remote.as_str()],
            vec!["dump", remote.as_str(), "--format=json"],
            vec![
                "transact",
                remote.as_str(),
                r#"["OVN_Northbound",{"op":"select","table":"Logical_Switch","where":[]}]"#,
            ],
        ] {
            let args: Vec<&str> = tls.iter().copied().chain(command).collect();
            let out = assert_same(d, &args);
            assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        }
    }
    // A server certificate from another CA is refused by both.
    let untrusted_ca = pki.untrusted_ca_certificate().display().to_string();
    let out = assert_same(
        d,
        &[
            "-p",
            &key,
            "-c",
            &cert,
            "-C",
            &untrusted_ca,
            "list-dbs",
            &remote,
        ],
    );
    assert_eq!(out.code, Some(1));
}

#[test]
fn cli_reals_match_ovsdb_client() {
    // A schema with real columns: OVS prints reals as %.15g, and re-lexes whole ones as
    // integers when it prints what a server sent.
    let schema = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ovsdb-client/src/format/testdata/t.ovsschema");
    let server = OvsdbServer::builder(Schema::File(schema))
        .start()
        .expect("server for the test schema starts");
    server
        .transact(
            r#"["T",{"op":"insert","table":"R","row":{"r":0.1,"rs":["set",[1.5,1e100,1e-7,123456789012345678,0.30000000000000004,2,-0.0,1e15,1e16,3.14159265358979,-2.5e-300]],"m":["map",[[1,2.5],[-3,1e21],[7,100]]],"b":["set",[true,false]],"u":["set",[["uuid","6f19879f-5fa9-4177-a7b6-617bcdab49ea"]]],"s":["set",["sw0","0a","True","a-1.b","_x"]]}},{"op":"insert","table":"R","row":{"r":1e15}},{"op":"insert","table":"R","row":{"r":-7}}]"#,
        )
        .expect("rows inserted");
    let d = dir(&server);
    let s = server.unix_remote();
    for args in [
        vec!["dump", &s],
        vec!["dump", &s, "--format=json"],
        vec!["dump", &s, "--bare"],
        vec!["get-schema", &s],
        vec![
            "transact",
            &s,
            r#"["T",{"op":"select","table":"R","where":[]}]"#,
        ],
        vec![
            "transact",
            &s,
            r#"["T",{"op":"select","table":"R","where":[["r","<",1e16]],"columns":["r","m"]}]"#,
        ],
    ] {
        let out = assert_same(d, &args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    }
    compare_monitors(
        &server,
        &["monitor", &s, "R", "r,rs,m", "--format=json"],
        1,
        &[
            r#"["T",{"op":"insert","table":"R","row":{"r":2.5e-5,"rs":["set",[1e15,7]]}}]"#,
            r#"["T",{"op":"update","table":"R","where":[["r","==",2.5e-5]],"row":{"r":1e300,"m":["map",[[0,0.1]]]}}]"#,
        ],
    );
}

#[test]
fn cli_raft_cluster_matches_ovsdb_client() {
    // SERVER as a comma-separated list: both tools pick the leader of the clustered database
    // (the database name is then required) and print the same.
    let cluster = ovn_tests::RaftCluster::nb().expect("3-member NB cluster starts");
    let leader = cluster
        .wait_for_leader(ovn_tests::ELECTION_TIMEOUT)
        .expect("a leader is elected");
    cluster
        .member_ovsdb_client(leader, "transact", [NB_CONTENTS])
        .expect("NB contents inserted");
    let d = cluster.dir();
    let remotes = cluster.remote();
    let select = r#"["OVN_Northbound",{"op":"select","table":"Logical_Switch","where":[],"columns":["name","external_ids","ports"]}]"#;
    for args in [
        vec!["dump", remotes.as_str(), "OVN_Northbound", "--format=json"],
        vec![
            "dump",
            remotes.as_str(),
            "OVN_Northbound",
            "Logical_Switch_Port",
        ],
        vec!["get-schema", remotes.as_str(), "OVN_Northbound"],
        vec!["list-tables", remotes.as_str(), "OVN_Northbound"],
        vec!["transact", remotes.as_str(), select],
    ] {
        let out = assert_same(d, &args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    }
    // Several servers and no database name: both refuse.
    let out = assert_same(d, &["get-schema", remotes.as_str()]);
    assert_eq!(out.code, Some(1));
}

/// Whether a line is a `--timestamp` line: `YYYY-MM-DD HH:MM:SS.mmm`.
fn is_timestamp(line: &str) -> bool {
    let pattern = "dddd-dd-dd dd:dd:dd.ddd";
    line.len() == pattern.len()
        && line.bytes().zip(pattern.bytes()).all(|(c, p)| {
            if p == b'd' {
                c.is_ascii_digit()
            } else {
                c == p
            }
        })
}

#[test]
fn cli_monitor_timestamps_match_ovsdb_client() {
    // The times differ between the two runs; everything else must not. (ovsdb-client 3.1
    // crashes with --timestamp in JSON format, so only the table format is compared.)
    let nb = populated_nb();
    let s = nb.unix_remote();
    let d = dir(&nb);
    log_requests(&nb);
    let args = ["--timestamp", "monitor", &s, "Meter", "name,unit"];
    let reference = Running::start(Tool::Reference, d, &args);
    let ours = Running::start(Tool::UnderTest, d, &args);
    reference.wait_lines(4);
    ours.wait_lines(4);
    wait_for_monitors(&nb, 2);
    nb.transact(r#"["OVN_Northbound",{"op":"insert","table":"Meter","row":{"name":"m2","unit":"pktps","bands":["named-uuid","b"]}},{"op":"insert","table":"Meter_Band","uuid-name":"b","row":{"action":"drop","rate":5}}]"#)
        .expect("meter inserted");
    reference.wait_lines(9);
    ours.wait_lines(9);
    let mask = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                if is_timestamp(&l) {
                    "TIME".to_owned()
                } else {
                    l
                }
            })
            .collect()
    };
    let ours = mask(ours.lines());
    assert_eq!(ours, mask(reference.lines()));
    assert_eq!(ours.iter().filter(|l| *l == "TIME").count(), 2, "{ours:?}");
}

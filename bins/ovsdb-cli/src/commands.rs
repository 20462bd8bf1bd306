//! The commands, run the way `ovsdb-client` runs them: the same optional SERVER and DATABASE
//! arguments and defaults, the same requests, and output printed by
//! [`ovsdb_client::format`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ovsdb_client::client::{Client, ClientConfig, ConnectionState, MonitorMessage, TableChanges};
use ovsdb_client::format::{
    self, OvsJson, Table, TablePrinter, TableStyle, dump_table, list_tables_table, monitor_table,
    schema_json, table_names_in_wire_order, uuid_column_type,
};
use ovsdb_client::remote::Remote;
use ovsdb_client::tls::{TlsConnector, TlsFiles};
use ovsdb_client::{
    ColumnType, DatabaseSchema, Error, MonitorRequest, MonitorSelect, Row, ServerError,
    TableSchema, TableUpdates1,
};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::CliError;

/// What the options on the command line set for every command.
#[derive(Debug, Clone)]
pub struct Options {
    /// How tables and JSON are printed.
    pub style: TableStyle,
    /// `--private-key`.
    pub private_key: Option<PathBuf>,
    /// `--certificate`.
    pub certificate: Option<PathBuf>,
    /// `--ca-cert`.
    pub ca_cert: Option<PathBuf>,
    /// The program name warnings start with.
    pub program: String,
    /// With several servers, only the leader of a clustered database qualifies.
    pub leader_only: bool,
    /// `--timestamp`: `monitor` prints the time with each table.
    pub timestamp: bool,
}

/// What a command needs before it runs (`enum args_needed` in ovsdb-client.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Nothing: the command finds its server itself (`transact`).
    Nothing,
    /// A connection.
    Connection,
    /// A connection and a database name (given or defaulted).
    Database,
}

/// A command and how many arguments it takes after the optional SERVER and DATABASE.
struct Command {
    name: &'static str,
    need: Need,
    min: usize,
    max: usize,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "list-dbs",
        need: Need::Connection,
        min: 0,
        max: 0,
    },
    Command {
        name: "get-schema",
        need: Need::Database,
        min: 0,
        max: 0,
    },
    Command {
        name: "list-tables",
        need: Need::Database,
        min: 0,
        max: 0,
    },
    Command {
        name: "transact",
        need: Need::Nothing,
        min: 1,
        max: 2,
    },
    Command {
        name: "monitor",
        need: Need::Database,
        min: 1,
        max: usize::MAX,
    },
    Command {
        name: "dump",
        need: Need::Database,
        min: 0,
        max: usize::MAX,
    },
];

fn invalid_syntax(command: &str) -> CliError {
    CliError::Usage(format!(
        "invalid syntax for '{command}' (use --help for help)"
    ))
}

/// OVS's run directory: `$OVS_RUNDIR`, else the packaged default.
fn rundir() -> String {
    std::env::var("OVS_RUNDIR").unwrap_or_else(|_| "/var/run/openvswitch".to_owned())
}

/// `unix:$OVS_RUNDIR/db.sock`, the server when none is given.
fn default_remote() -> String {
    format!("unix:{}/db.sock", rundir())
}

/// Whether an argument is a SERVER rather than a DATABASE or TABLE: it starts with a letter
/// and has a colon.
fn looks_like_remote(arg: &str) -> bool {
    arg.starts_with(|c: char| c.is_ascii_alphabetic()) && arg.contains(':')
}

/// Runs the command line's COMMAND [ARG...].
pub async fn run(options: &Options, args: &[String]) -> Result<(), CliError> {
    let Some((name, rest)) = args.split_first() else {
        return Err(CliError::Usage(
            "missing command name; use --help for help".into(),
        ));
    };
    let command = COMMANDS
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| CliError::Usage(format!("unknown command '{name}'; use --help for help")))?;
    if command.need == Need::Nothing {
        if rest.len() < command.min || rest.len() > command.max {
            return Err(invalid_syntax(command.name));
        }
        return transact(options, rest).await;
    }
    let mut at = 0;
    let server = if rest.len() > command.min && looks_like_remote(&rest[0]) {
        at = 1;
        rest[0].clone()
    } else {
        default_remote()
    };
    let multiple = server.contains(',');
    let mut database = None;
    if command.need == Need::Database && multiple {
        if rest.len() - at > command.min {
            database = Some(rest[at].clone());
            at += 1;
        } else {
            return Err(CliError::Usage(
                "database name is required with multiple remotes".into(),
            ));
        }
    }
    let session = Session::open(options, &server, database.clone()).await?;
    if command.need == Need::Database && database.is_none() {
        let dbs = session.list_dbs().await?;
        database = Some(
            if rest.len() - at > command.min && dbs.contains(&rest[at]) {
                at += 1;
                rest[at - 1].clone()
            } else if dbs.iter().any(|d| d == "Open_vSwitch") {
                "Open_vSwitch".to_owned()
            } else {
                let mut user = dbs.iter().filter(|d| !d.starts_with('_'));
                match (user.next(), user.next()) {
                    (Some(only), None) => only.clone(),
                    _ => {
                        return Err(CliError::Usage(
                            "could not find a default database, please specify a database name"
                                .into(),
                        ));
                    }
                }
            },
        );
    }
    let args = &rest[at..];
    if args.len() < command.min || args.len() > command.max {
        return Err(invalid_syntax(command.name));
    }
    let db = database.unwrap_or_default();
    let mut out = Output::new(options);
    match command.name {
        "list-dbs" => {
            for db in session.list_dbs().await? {
                out.write(&format!("{db}\n"))?;
            }
            Ok(())
        }
        "get-schema" => {
            let (raw, _) = session.schema(&db).await?;
            let value: Value = serde_json::from_str(raw.get())
                .map_err(|e| CliError::Reply(format!("schema is not JSON: {e}")))?;
            out.write(&(schema_json(&value).to_text(options.style.pretty) + "\n"))
        }
        "list-tables" => {
            let (raw, _) = session.schema(&db).await?;
            let names = table_names_in_wire_order(raw.get())
                .map_err(|e| CliError::Reply(format!("schema has no tables object: {e}")))?;
            out.table(&list_tables_table(&names))
        }
        "dump" => dump(&session, &db, args, &mut out).await,
        _ => monitor(&session, &db, args, &mut out).await,
    }
}

/// Prints to stdout, flushing after each piece so a monitor's updates appear as they come.
struct Output {
    printer: TablePrinter,
    program: String,
    timestamp: bool,
}

impl Output {
    fn new(options: &Options) -> Self {
        Output {
            printer: TablePrinter::new(options.style),
            program: options.program.clone(),
            timestamp: options.timestamp,
        }
    }

    fn write(&mut self, text: &str) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::Io(format!("write to stdout failed ({})", strerror(&e))))
    }

    fn table(&mut self, table: &Table) -> Result<(), CliError> {
        let text = self.printer.render(table);
        self.write(&text)
    }

    fn warn(&self, message: &str) {
        eprintln!("{}: {message}", self.program);
    }
}

/// The `strerror` words of an I/O error, without Rust's `(os error N)`.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// A connection to the server named on the command line.
struct Session {
    client: Client,
    /// The server as given, for messages.
    server: String,
}

impl Session {
    /// Connects like `ovsdb-client`: one attempt per remote, failing at once when none
    /// answers, then a [`Client`] that does not reconnect behind the command's back.
    async fn open(
        options: &Options,
        server: &str,
        database: Option<String>,
    ) -> Result<Session, CliError> {
        let resolved: Vec<String> = server.split(',').map(resolve_unix_path).collect();
        let remotes = Remote::parse_list(&resolved.join(",")).map_err(|e| CliError::BadRemote {
            server: server.to_owned(),
            reason: match &e {
                Error::InvalidRemote { reason, .. } if reason.starts_with("unknown kind") => {
                    "Address family not supported by protocol".to_owned()
                }
                Error::InvalidRemote { reason, .. } => reason.clone(),
                other => other.to_string(),
            },
        })?;
        let tls = match (&options.private_key, &options.certificate, &options.ca_cert) {
            (Some(key), Some(cert), Some(ca)) => Some(TlsFiles::new(key, cert, ca)),
            _ => None,
        };
        let connect_error = |reason: String| CliError::Connect {
            server: server.to_owned(),
            reason,
        };
        let connector = match &tls {
            Some(files) => Some(Arc::new(
                TlsConnector::from_files(files).map_err(|e| connect_error(describe(&e)))?,
            )),
            None if remotes.iter().any(Remote::is_ssl) => {
                return Err(connect_error(
                    "ssl: needs --private-key, --certificate and --ca-cert".into(),
                ));
            }
            None => None,
        };
        // ovsdb-client tries once and gives up; the Client would keep retrying, so one
        // attempt per remote first tells whether any answers.
        let mut last_error = None;
        for remote in &remotes {
            match remote.connect(connector.as_ref()).await {
                Ok(_) => {
                    last_error = None;
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        if let Some(e) = last_error {
            return Err(if remotes.len() > 1 {
                CliError::Request("no servers were available".into())
            } else {
                connect_error(describe(&e))
            });
        }
        let several = remotes.len() > 1;
        // ovsdb-client waits as long as the server takes (a `wait` operation may block for
        // ever by design); the library's default request bound is for controllers.
        let mut config = ClientConfig::with_remotes(remotes)
            .probe_interval(None)
            .request_timeout(None)
            .leader_only(options.leader_only);
        config.tls = tls;
        config.database = database;
        if several {
            // ovsdb-client tries each remote once for a server that has the database (the
            // leader of a cluster); a server that answers but does not qualify is given up on.
            config.backoff_min = Duration::from_secs(3600);
            config.backoff_max = config.backoff_min;
            config.initial_connect_timeout = Duration::from_secs(10);
        }
        let client = Client::connect(config).await.map_err(|e| {
            if several {
                CliError::Request("no servers were available".into())
            } else {
                connect_error(describe(&e))
            }
        })?;
        Ok(Session {
            client,
            server: server.to_owned(),
        })
    }

    async fn list_dbs(&self) -> Result<Vec<String>, CliError> {
        let dbs = self.client.list_dbs().await.map_err(request_error)?;
        Ok(format::sorted_db_names(dbs))
    }

    /// The schema's raw JSON (for byte-exact output) and its parsed form.
    async fn schema(&self, db: &str) -> Result<(Box<RawValue>, DatabaseSchema), CliError> {
        let raw = self
            .client
            .get_schema_json(db)
            .await
            .map_err(request_error)?;
        let schema =
            DatabaseSchema::from_json_str(raw.get()).map_err(|e| CliError::Reply(e.to_string()))?;
        Ok((raw, schema))
    }

    async fn transact(&self, params: &impl serde::Serialize) -> Result<Value, CliError> {
        let raw = self
            .client
            .call("transact", params)
            .await
            .map_err(request_error)?;
        serde_json::from_str(raw.get())
            .map_err(|e| CliError::Reply(format!("transaction reply is not JSON: {e}")))
    }
}

/// OVS resolves a relative `unix:` path against its run directory, not the working directory.
fn resolve_unix_path(remote: &str) -> String {
    match remote.trim().strip_prefix("unix:") {
        Some(path) if !path.starts_with('/') => format!("unix:{}/{path}", rundir()),
        _ => remote.trim().to_owned(),
    }
}

/// An error's reason as `ovsdb-client` words it: `strerror` for system errors.
fn describe(e: &Error) -> String {
    match e {
        Error::Io(io) => strerror(io),
        Error::Tls(msg) => msg.clone(),
        other => other.to_string(),
    }
}

/// A failed request, as `check_txn` reports it.
fn request_error(e: Error) -> CliError {
    match e {
        Error::Server(se) => CliError::Request(format!(
            "transaction returned error: {}",
            server_error_json(&se).to_text(false)
        )),
        Error::ConnectionLost { .. } => {
            CliError::Request("transaction failed (End of file)".into())
        }
        other => CliError::Request(format!("transaction failed ({})", describe(&other))),
    }
}

/// An RFC 7047 error object as JSON.
fn server_error_json(e: &ServerError) -> OvsJson {
    let mut o = BTreeMap::new();
    o.insert("error".to_owned(), OvsJson::string(e.error.clone()));
    if let Some(d) = &e.details {
        o.insert("details".to_owned(), OvsJson::string(d.clone()));
    }
    OvsJson::Object(o)
}

/// `transact [SERVER] TRANSACTION`: sends the transaction as given and prints the result
/// array.
async fn transact(options: &Options, args: &[String]) -> Result<(), CliError> {
    let text = args.last().map(String::as_str).unwrap_or_default();
    let value: Value =
        serde_json::from_str(text).map_err(|e| CliError::Input(format!("\"{text}\": {e}")))?;
    if !value.is_array() && !value.is_object() {
        return Err(CliError::Input(format!(
            "\"{text}\": syntax error at beginning of input"
        )));
    }
    let db = match value.as_array().and_then(|a| a.first()) {
        Some(Value::String(db)) => db.clone(),
        _ => return Err(CliError::Input("not a valid OVSDB query".into())),
    };
    let server = match args {
        [server, _] if looks_like_remote(server) => server.clone(),
        _ => default_remote(),
    };
    let database = server.contains(',').then(|| db.clone());
    let session = Session::open(options, &server, database).await?;
    // The server parses the transaction exactly as ovsdb-client's own parser would, so it
    // goes out as typed.
    let params = RawValue::from_string(text.to_owned())
        .map_err(|e| CliError::Input(format!("\"{text}\": {e}")))?;
    let result = session.transact(&params).await?;
    let mut out = Output::new(options);
    out.write(&(OvsJson::from_wire(&result).to_text(options.style.pretty) + "\n"))
}

/// The columns `dump` selects and prints, with their types.
fn all_columns(table: &TableSchema) -> Vec<(String, ColumnType)> {
    let mut columns: Vec<(String, ColumnType)> = table
        .columns
        .iter()
        .map(|(n, c)| (n.clone(), c.ty.clone()))
        .collect();
    columns.push(("_uuid".to_owned(), uuid_column_type()));
    columns
}

/// A column of a table, the implicit `_uuid` and `_version` included.
fn column_type(table: &TableSchema, name: &str) -> Option<ColumnType> {
    match name {
        "_uuid" | "_version" => Some(uuid_column_type()),
        _ => table.column(name).map(|c| c.ty.clone()),
    }
}

/// `dump [SERVER] [DATABASE] [TABLE [COLUMN]...]`: every table (or one) in one transaction
/// of `select`s, printed sorted.
async fn dump(
    session: &Session,
    db: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), CliError> {
    let (_, schema) = session.schema(db).await?;
    let mut tables: Vec<(String, Vec<(String, ColumnType)>)> = Vec::new();
    match args.split_first() {
        Some((name, columns)) => {
            let table = schema
                .table(name)
                .ok_or_else(|| CliError::Input(format!("No table \"{name}\" found.")))?;
            let selected = if columns.is_empty() {
                all_columns(table)
            } else {
                columns
                    .iter()
                    .map(|c| {
                        column_type(table, c)
                            .map(|ty| (c.clone(), ty))
                            .ok_or_else(|| {
                                CliError::Input(format!("Table \"{name}\" has no column {c}."))
                            })
                    })
                    .collect::<Result<_, _>>()?
            };
            tables.push((name.clone(), selected));
        }
        None => {
            // The schema's tables are in a BTreeMap: bytewise order, as shash_sort().
            for (name, table) in &schema.tables {
                tables.push((name.clone(), all_columns(table)));
            }
        }
    }
    let mut txn = vec![Value::String(db.to_owned())];
    for (name, columns) in &tables {
        let names: Vec<&str> = columns
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| *n != "_version")
            .collect();
        txn.push(serde_json::json!({"op": "select", "table": name, "where": [], "columns": names}));
    }
    let result = session.transact(&txn).await?;
    let results = result
        .as_array()
        .filter(|a| a.len() == tables.len())
        .ok_or_else(|| {
            CliError::Reply(format!(
                "reply is not array of {} elements: {}",
                tables.len(),
                OvsJson::from_wire(&result).to_text(false)
            ))
        })?;
    for ((name, columns), op_result) in tables.iter().zip(results) {
        let rows = op_result
            .get("rows")
            .filter(|r| r.is_array())
            .ok_or_else(|| {
                CliError::Reply(format!(
                    "{name} table reply is not an object with a \"rows\" member array: {}",
                    OvsJson::from_wire(op_result).to_text(false)
                ))
            })?;
        let rows: Vec<Row> = serde_json::from_value(rows.clone())
            .map_err(|e| CliError::Reply(format!("{name} table reply: {e}")))?;
        let table = dump_table(name, columns, &rows).map_err(|e| CliError::Reply(e.to_string()))?;
        out.table(&table)?;
    }
    Ok(())
}

/// One monitored table: its columns in heading order.
struct Monitored {
    table: String,
    columns: Vec<(String, ColumnType)>,
}

/// Parses `monitor`'s COLUMN,... arguments for one table as `parse_monitor_columns` does:
/// `!initial`, `!insert`, `!delete`, `!modify` drop kinds of change; no column means all of
/// them (sorted, `_version` last).
fn monitor_columns(
    server: &str,
    db: &str,
    name: &str,
    table: &TableSchema,
    args: &[String],
) -> Result<(Monitored, MonitorRequest), CliError> {
    let mut columns: Vec<(String, ColumnType)> = Vec::new();
    let mut selects: Vec<MonitorSelect> = Vec::new();
    let empty = [String::new()];
    let groups = if args.is_empty() { &empty[..] } else { args };
    for group in groups {
        let mut select = MonitorSelect::default();
        let mut named = 0;
        for token in group.split(',').filter(|t| !t.is_empty()) {
            match token {
                "!initial" => select.initial = false,
                "!insert" => select.insert = false,
                "!delete" => select.delete = false,
                "!modify" => select.modify = false,
                column => {
                    let ty = column_type(table, column).ok_or_else(|| {
                        CliError::Input(format!(
                            "{server}: table \"{name}\" in {db} does not have a column named \"{column}\""
                        ))
                    })?;
                    add_column(server, &mut columns, column, ty)?;
                    named += 1;
                }
            }
        }
        if named == 0 {
            for (column, c) in &table.columns {
                add_column(server, &mut columns, column, c.ty.clone())?;
            }
            add_column(server, &mut columns, "_version", uuid_column_type())?;
        }
        selects.push(select);
    }
    // The client sends one request per table, so column groups are merged; that means the
    // same thing only when every group selects the same kinds of change.
    let select = selects[0];
    if selects.iter().any(|s| *s != select) {
        return Err(CliError::Input(format!(
            "{server}: column groups of table \"{name}\" with different change kinds (!initial, \
             !insert, !delete, !modify) are not supported"
        )));
    }
    let request = MonitorRequest {
        columns: Some(columns.iter().map(|(n, _)| n.clone()).collect()),
        conditions: None,
        select: (select != MonitorSelect::default()).then_some(select),
    };
    Ok((
        Monitored {
            table: name.to_owned(),
            columns,
        },
        request,
    ))
}

fn add_column(
    server: &str,
    columns: &mut Vec<(String, ColumnType)>,
    name: &str,
    ty: ColumnType,
) -> Result<(), CliError> {
    if columns.iter().any(|(n, _)| n == name) {
        return Err(CliError::Input(format!(
            "{server}: column \"{name}\" mentioned multiple times"
        )));
    }
    columns.push((name.to_owned(), ty));
    Ok(())
}

/// `monitor [SERVER] [DATABASE] TABLE [COLUMN,...]...` (or `ALL`): the `monitor` method,
/// printing the initial contents and then one table per update, until the connection ends.
async fn monitor(
    session: &Session,
    db: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), CliError> {
    let server = session.server.as_str();
    let (_, schema) = session.schema(db).await?;
    let (name, column_args) = args
        .split_first()
        .ok_or_else(|| invalid_syntax("monitor"))?;
    let mut monitored = Vec::new();
    let mut requests = BTreeMap::new();
    if name == "ALL" {
        for (table_name, table) in &schema.tables {
            let (m, r) = monitor_columns(server, db, table_name, table, column_args)?;
            monitored.push(m);
            requests.insert(table_name.clone(), r);
        }
    } else {
        let table = schema.table(name).ok_or_else(|| {
            CliError::Input(format!(
                "{server}: {db} does not have a table named \"{name}\""
            ))
        })?;
        let (m, r) = monitor_columns(server, db, name, table, column_args)?;
        monitored.push(m);
        requests.insert(name.clone(), r);
    }
    let mut state = session.client.state();
    state.borrow_and_update();
    let mut mon = session
        .client
        .monitor(db, requests)
        .await
        .map_err(request_error)?;
    print_updates(&monitored, &mon.initial, true, out)?;
    let receive_failed = || CliError::Request(format!("{server}: receive failed (End of file)"));
    loop {
        tokio::select! {
            message = mon.updates.recv() => match message {
                Some(MonitorMessage::Update { changes, .. }) => {
                    print_updates(&monitored, &changes, false, out)?;
                }
                Some(MonitorMessage::Restarted { .. }) => return Err(receive_failed()),
                None => {
                    return Err(CliError::Request(format!("{server}: {db} database was removed")));
                }
            },
            changed = state.changed() => {
                if changed.is_err() || !matches!(*state.borrow(), ConnectionState::Connected(_)) {
                    return Err(receive_failed());
                }
            }
        }
    }
}

/// Prints one update (or the initial contents): a table per monitored table it touches.
fn print_updates(
    monitored: &[Monitored],
    changes: &TableChanges,
    initial: bool,
    out: &mut Output,
) -> Result<(), CliError> {
    let empty = TableUpdates1::new();
    let updates = match changes {
        TableChanges::V1(u) => u,
        // The `monitor` method only ever yields the `update` form.
        TableChanges::V2(_) => &empty,
    };
    for m in monitored {
        let Some(rows) = updates.get(&m.table) else {
            continue;
        };
        let caption = (monitored.len() > 1).then(|| m.table.clone());
        let (mut table, warnings) = monitor_table(&m.columns, rows, initial, caption);
        if out.timestamp {
            table.time = Some(format::timestamp(std::time::SystemTime::now()));
        }
        for w in &warnings.0 {
            out.warn(w);
        }
        out.table(&table)?;
    }
    Ok(())
}

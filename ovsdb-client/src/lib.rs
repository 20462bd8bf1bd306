//! An OVSDB client: RFC 7047 plus the Open vSwitch extensions, for any schema.
//!
//! This crate owns the wire protocol (framing, JSON-RPC, atoms, datums, operations, monitor
//! updates), connections to servers (`unix:`, `tcp:`, `ssl:`, clustered databases), and the
//! [`Replica`], an in-memory copy of monitored tables. It knows nothing about OVN: the
//! Northbound, Southbound and Open_vSwitch schemas are just schemas here.

pub mod atom;
pub mod client;
pub mod codec;
pub mod codegen;
pub mod datum;
pub mod error;
pub mod format;
pub mod operation;
pub mod remote;
pub mod replica;
pub mod rpc;
pub mod schema;
pub mod tls;
pub mod typed;
pub mod update;

pub use atom::{Atom, AtomicType, Uuid};
pub use datum::Datum;
pub use error::{Error, InvalidMessage, Result, SchemaError, ServerError};
pub use operation::{
    Condition, Function, Mutation, Mutator, Operation, OperationResult, Row, TransactReply,
    WaitUntil,
};
pub use replica::{Event, Replica, ReplicaRow, ReplicaTable, TableLayout};
pub use schema::{BaseType, ColumnSchema, ColumnType, DatabaseSchema, Max, RefType, TableSchema};
pub use update::{
    MonitorCondSinceReply, MonitorRequest, MonitorRequests, MonitorSelect, RowUpdate, RowUpdate2,
    TableUpdates, TableUpdates1, TableUpdates2,
};

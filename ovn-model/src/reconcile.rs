//! The reconciler: the fewest writes that make OVN_Northbound equal to a [`DesiredState`] for
//! everything one owner owns.
//!
//! Planning is a pure function of the replica and the desired groups ([`Reconciler::plan`]);
//! executing ([`Reconciler::reconcile`]) sends the planned transactions pipelined on one
//! connection, one self-contained transaction per group, so one bad object cannot block the
//! rest. Groups are written in phases (see [`Group::phase`]): after a phase's replies arrive the
//! replica already holds its rows (ovsdb-server sends a client's updates before the reply to its
//! transaction), so the next phase's references to them resolve to real UUIDs.
//!
//! Minimality: a column is written only when it differs; membership columns are mutated
//! element by element; an unchanged desired state plans no transaction at all.
//!
//! Concurrency: membership mutations commute with other writers' changes. A whole-column
//! `update` of an existing row is guarded by a `wait` on the row's `_version` (when the monitor
//! reports it), so a concurrent change fails the transaction instead of being overwritten; the
//! group is then re-planned from the fresh replica and retried.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use ovsdb_client::{
    Atom, Condition, Datum, Mutation, Mutator, Operation, Replica, ReplicaRow, Row, Uuid,
    WaitUntil, client::Client,
};

use crate::desired::{Cell, DesiredState, GROUP, Group, KEY, OWNER, RowKey};

/// Parent columns through which non-root rows are referenced, per child table. Used to find
/// the parent of an owned row that must go away.
const PARENT_COLUMNS: &[(&str, &str, &str)] = &[
    ("Logical_Switch_Port", "Logical_Switch", "ports"),
    ("ACL", "Logical_Switch", "acls"),
    ("ACL", "Port_Group", "acls"),
    ("Logical_Router_Port", "Logical_Router", "ports"),
    (
        "Logical_Router_Static_Route",
        "Logical_Router",
        "static_routes",
    ),
    ("Logical_Router_Policy", "Logical_Router", "policies"),
    ("NAT", "Logical_Router", "nat"),
    ("Gateway_Chassis", "Logical_Router_Port", "gateway_chassis"),
];

/// A row we own, as found in the replica.
#[derive(Debug, Clone)]
struct Owned {
    row: Arc<ReplicaRow>,
}

/// What the replica holds that concerns one owner.
#[derive(Debug, Default)]
struct OwnedIndex {
    /// By table, then key.
    rows: HashMap<String, HashMap<String, Owned>>,
    /// Child UUID to the (table, UUID, column) of rows referencing it through a parent column.
    parents: HashMap<Uuid, Vec<(String, Uuid, String)>>,
    /// Group to the (table, key) of its rows.
    by_group: HashMap<String, Vec<(String, String)>>,
}

impl OwnedIndex {
    fn build(replica: &Replica, owner: &str) -> Self {
        let mut idx = OwnedIndex::default();
        let owner_atom = Atom::string(owner);
        for (tname, table) in replica.tables() {
            if table.layout().index_of("external_ids").is_none() {
                continue;
            }
            let mut by_key = HashMap::new();
            for row in table.rows() {
                let Some(ids) = row.get("external_ids") else {
                    continue;
                };
                if ids.get(&Atom::string(OWNER)) != Some(&owner_atom) {
                    continue;
                }
                let (Some(key), Some(group)) = (ids.get_str(KEY), ids.get_str(GROUP)) else {
                    continue;
                };
                idx.by_group
                    .entry(group.to_owned())
                    .or_default()
                    .push((tname.to_owned(), key.to_owned()));
                by_key.insert(key.to_owned(), Owned { row: row.clone() });
            }
            if !by_key.is_empty() {
                idx.rows.insert(tname.to_owned(), by_key);
            }
        }
        for (_, parent_table, column) in PARENT_COLUMNS {
            let Some(table) = replica.table(parent_table) else {
                continue;
            };
            for row in table.rows() {
                let Some(members) = row.get(column) else {
                    continue;
                };
                for a in members.as_set() {
                    if let Atom::Uuid(child) = a {
                        idx.parents.entry(*child).or_default().push((
                            (*parent_table).to_owned(),
                            row.uuid,
                            (*column).to_owned(),
                        ));
                    }
                }
            }
        }
        idx
    }

    fn get(&self, key: &RowKey) -> Option<&Owned> {
        self.rows.get(key.table).and_then(|t| t.get(&key.key))
    }

    fn of_group<'a>(
        &'a self,
        group: &str,
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a Owned)> + 'a {
        self.by_group
            .get(group)
            .into_iter()
            .flatten()
            .filter_map(move |(t, k)| {
                let owned = self.rows.get(t)?.get(k)?;
                Some((t.as_str(), k.as_str(), owned))
            })
    }

    fn groups(&self) -> BTreeSet<&str> {
        self.by_group.keys().map(String::as_str).collect()
    }
}

/// One planned transaction: a group's writes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTxn {
    /// The group it converges (or removes).
    pub group: String,
    /// The operations, in order.
    pub ops: Vec<Operation>,
    /// References that could not be resolved yet (a target row missing); the group is
    /// written without them and completes in a later pass.
    pub unresolved: Vec<RowKey>,
}

/// The planned writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// One transaction per group that needs writing.
    pub txns: Vec<PlannedTxn>,
}

impl Plan {
    /// True when nothing needs writing.
    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }

    /// Total number of operations.
    pub fn op_count(&self) -> usize {
        self.txns.iter().map(|t| t.ops.len()).sum()
    }
}

/// What a reconcile pass did.
#[derive(Debug, Default)]
pub struct Report {
    /// Transactions sent.
    pub transactions: usize,
    /// Operations sent.
    pub operations: usize,
    /// Bytes of JSON sent in transaction parameters.
    pub bytes: usize,
    /// Groups whose transaction failed, with the error, after retries.
    pub failed: BTreeMap<String, ovsdb_client::Error>,
    /// Groups written with references still unresolved.
    pub incomplete: BTreeSet<String>,
}

/// Converges NB to desired state for one owner.
#[derive(Debug, Clone)]
pub struct Reconciler {
    owner: String,
    db: String,
    retries: usize,
}

/// Which part of NB a plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The desired state is everything: owned groups it lacks are removed.
    Everything,
    /// Only the given groups are upserted; other owned groups are left alone.
    OnlyTheseGroups,
}

impl Reconciler {
    /// A reconciler writing rows owned by `owner` to `OVN_Northbound`.
    pub fn new(owner: impl Into<String>) -> Self {
        Reconciler {
            owner: owner.into(),
            db: "OVN_Northbound".into(),
            retries: 3,
        }
    }

    /// The owner value written to `external_ids:ovn-model/owner`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Plans the writes for `groups` (and, with [`Scope::Everything`], the removal of owned
    /// groups not among them). Pure: reads the replica, sends nothing.
    pub fn plan<'a>(
        &self,
        replica: &Replica,
        groups: impl IntoIterator<Item = &'a Group>,
        scope: Scope,
    ) -> Plan {
        let idx = OwnedIndex::build(replica, &self.owner);
        self.plan_indexed(replica, &idx, groups, scope)
    }

    /// Plans the writes for a whole desired state, as [`Reconciler::reconcile`] sends them
    /// (all phases at once, so later phases' references to rows not yet inserted stay
    /// unresolved): held groups are neither written nor, with [`Scope::Everything`], removed.
    pub fn plan_state(&self, replica: &Replica, desired: &DesiredState, scope: Scope) -> Plan {
        let idx = OwnedIndex::build(replica, &self.owner);
        let mut plan = self.plan_indexed(
            replica,
            &idx,
            desired.groups.values(),
            Scope::OnlyTheseGroups,
        );
        if scope == Scope::Everything {
            plan.txns.extend(
                self.plan_removals(&idx, |g| {
                    desired.groups.contains_key(g) || desired.held.contains(g)
                })
                .txns,
            );
        }
        plan
    }

    fn plan_indexed<'a>(
        &self,
        replica: &Replica,
        idx: &OwnedIndex,
        groups: impl IntoIterator<Item = &'a Group>,
        scope: Scope,
    ) -> Plan {
        let mut plan = Plan::default();
        let mut wanted = BTreeSet::new();
        let groups: Vec<&Group> = groups.into_iter().collect();
        // A row another planned group wants is moving there (an address set shared since),
        // not stale in the group that had it.
        let claimed: HashSet<(&str, &str)> = groups
            .iter()
            .flat_map(|g| g.rows.iter().map(|r| (r.key.table, r.key.key.as_str())))
            .collect();
        for g in groups {
            wanted.insert(g.id.clone());
            let txn = self.plan_group(replica, idx, g, &claimed);
            if !txn.ops.is_empty() {
                plan.txns.push(txn);
            }
        }
        if scope == Scope::Everything {
            plan.txns
                .extend(self.plan_removals(idx, |g| wanted.contains(g)).txns);
        }
        plan
    }

    /// Plans the removal of every owned group that `keep` does not keep, one transaction each.
    fn plan_removals(&self, idx: &OwnedIndex, keep: impl Fn(&str) -> bool) -> Plan {
        let txns = idx
            .groups()
            .into_iter()
            .filter(|gid| !keep(gid))
            .map(|gid| self.plan_removal(idx, gid))
            .filter(|txn| !txn.ops.is_empty())
            .collect();
        Plan { txns }
    }

    /// Plans the removal of one group's rows.
    pub fn plan_delete(&self, replica: &Replica, group: &str) -> Plan {
        let idx = OwnedIndex::build(replica, &self.owner);
        let txn = self.plan_removal(&idx, group);
        Plan {
            txns: if txn.ops.is_empty() {
                vec![]
            } else {
                vec![txn]
            },
        }
    }

    fn plan_removal(&self, idx: &OwnedIndex, group: &str) -> PlannedTxn {
        let mut ops = Vec::new();
        let doomed: BTreeSet<Uuid> = idx.of_group(group).map(|(_, _, o)| o.row.uuid).collect();
        for (table, _, owned) in idx.of_group(group) {
            removal_ops(idx, table, owned, &doomed, &mut ops);
        }
        PlannedTxn {
            group: group.to_owned(),
            ops,
            unresolved: Vec::new(),
        }
    }

    fn plan_group(
        &self,
        replica: &Replica,
        idx: &OwnedIndex,
        group: &Group,
        claimed: &HashSet<(&str, &str)>,
    ) -> PlannedTxn {
        let mut ops = Vec::new();
        let mut unresolved = Vec::new();
        // Rows to insert get named UUIDs, so the group's other rows can refer to them.
        let mut named: HashMap<&RowKey, String> = HashMap::new();
        for (i, row) in group.rows.iter().enumerate() {
            if idx.get(&row.key).is_none() {
                named.insert(&row.key, format!("row{i}"));
            }
        }
        let resolve = |key: &RowKey| -> Option<Atom> {
            if let Some(n) = named.get(key) {
                return Some(Atom::NamedUuid(n.clone()));
            }
            idx.get(key).map(|o| Atom::Uuid(o.row.uuid))
        };
        let mut parent_mutations: Vec<Operation> = Vec::new();
        let mut later: Vec<Operation> = Vec::new();
        for row in &group.rows {
            let Some(layout) = replica.table(row.key.table).map(|t| t.layout().clone()) else {
                unresolved.push(row.key.clone());
                continue;
            };
            let coerce = |col: &str, d: Datum| match layout
                .index_of(col)
                .and_then(|i| layout.column_type(i))
            {
                Some(ty) => d.coerce(ty),
                None => d,
            };
            let resolve_cell = |cell: &Cell, unresolved: &mut Vec<RowKey>| -> Datum {
                match cell {
                    Cell::Value(d) => d.clone(),
                    Cell::Refs(keys) => Datum::set(keys.iter().filter_map(|k| {
                        let r = resolve(k);
                        if r.is_none() {
                            unresolved.push(k.clone());
                        }
                        r
                    })),
                }
            };
            // Desired plain columns, with the ownership keys merged into external_ids.
            let mut desired: Row = Row::new();
            for (col, cell) in &row.columns {
                desired.insert(
                    (*col).to_owned(),
                    coerce(col, resolve_cell(cell, &mut unresolved)),
                );
            }
            let mut ids: Vec<(Atom, Atom)> = desired
                .remove("external_ids")
                .map(|d| d.as_map().to_vec())
                .unwrap_or_default();
            ids.push((Atom::string(OWNER), Atom::string(self.owner.as_str())));
            ids.push((Atom::string(KEY), Atom::string(row.key.key.as_str())));
            ids.push((Atom::string(GROUP), Atom::string(group.id.as_str())));
            desired.insert("external_ids".into(), Datum::map(ids));
            let members: Vec<(&str, Datum)> = row
                .members
                .iter()
                .map(|(c, cell)| (*c, coerce(c, resolve_cell(cell, &mut unresolved))))
                .collect();

            match idx.get(&row.key) {
                None => {
                    // The parent must exist (or be inserted here): an unreferenced row of a
                    // non-root table would be garbage-collected at commit.
                    let parent = match &row.parent {
                        Some((pkey, pcol)) => match resolve(pkey) {
                            Some(p) => Some((pkey.table, p, *pcol)),
                            None => {
                                unresolved.push(pkey.clone());
                                continue;
                            }
                        },
                        None => None,
                    };
                    let mut new_row = desired;
                    for (c, d) in members {
                        new_row.insert(c.to_owned(), d);
                    }
                    ops.push(Operation::insert_named(
                        row.key.table,
                        new_row,
                        named[&row.key].clone(),
                    ));
                    let me = Atom::NamedUuid(named[&row.key].clone());
                    if let Some((ptable, patom, pcol)) = parent {
                        parent_mutations.push(reference_op(ptable, patom, pcol, me.clone()));
                    }
                    for (target, col) in &row.attach {
                        match resolve(target) {
                            Some(t) => parent_mutations.push(reference_op(
                                target.table,
                                t,
                                col,
                                me.clone(),
                            )),
                            None => unresolved.push(target.clone()),
                        }
                    }
                }
                Some(owned) => {
                    let current = &owned.row;
                    let changed: Row = desired
                        .into_iter()
                        .filter(|(c, d)| current.get(c) != Some(d))
                        .collect();
                    let where_ = vec![Condition::uuid(current.uuid)];
                    if !changed.is_empty() {
                        // Whole-column writes are read-modify-write: fail (and re-plan from a
                        // fresh replica) if another writer changed the row since we read it.
                        if let Some(version) = current.version {
                            let mut expected = Row::new();
                            expected.insert("_version".into(), Datum::scalar(version));
                            later.push(Operation::Wait {
                                table: row.key.table.to_owned(),
                                conditions: where_.clone(),
                                columns: vec!["_version".into()],
                                until: WaitUntil::Equal,
                                rows: vec![expected],
                                timeout: Some(0),
                            });
                        }
                        later.push(Operation::update(row.key.table, where_.clone(), changed));
                    }
                    let mut mutations = Vec::new();
                    for (c, want) in members {
                        let have = current.get(c).cloned().unwrap_or_default();
                        member_mutations(c, &have, &want, &mut mutations);
                    }
                    if !mutations.is_empty() {
                        later.push(Operation::mutate(row.key.table, where_, mutations));
                    }
                    for (target, col) in &row.attach {
                        let me = Atom::Uuid(current.uuid);
                        match resolve(target) {
                            Some(t @ Atom::NamedUuid(_)) => {
                                parent_mutations.push(reference_op(target.table, t, col, me))
                            }
                            Some(t) => {
                                let present = idx
                                    .get(target)
                                    .and_then(|o| o.row.get(col).map(|d| d.contains(&me)))
                                    .unwrap_or(false);
                                if !present {
                                    parent_mutations.push(reference_op(target.table, t, col, me));
                                }
                            }
                            None => unresolved.push(target.clone()),
                        }
                    }
                }
            }
        }
        ops.extend(later);
        ops.extend(parent_mutations);
        // Owned rows of this group that the desired state no longer has.
        let keep: BTreeSet<(&str, &str)> = group
            .rows
            .iter()
            .map(|r| (r.key.table, r.key.key.as_str()))
            .collect();
        let stale: Vec<(&str, &Owned)> = idx
            .of_group(&group.id)
            .filter(|(t, k, _)| !keep.contains(&(*t, *k)) && !claimed.contains(&(*t, *k)))
            .map(|(t, _, o)| (t, o))
            .collect();
        let doomed: BTreeSet<Uuid> = stale.iter().map(|(_, o)| o.row.uuid).collect();
        for (table, owned) in stale {
            removal_ops(idx, table, owned, &doomed, &mut ops);
        }
        PlannedTxn {
            group: group.id.clone(),
            ops,
            unresolved,
        }
    }

    /// Converges NB to `desired`: plans and sends each phase in turn, transactions pipelined,
    /// retrying a failed group with a fresh replica. With [`Scope::Everything`], owned groups
    /// not in `desired` are removed at the end, except the held ones ([`DesiredState::held`]).
    pub async fn reconcile(
        &self,
        client: &Client,
        replica: &Arc<RwLock<Replica>>,
        desired: &DesiredState,
        scope: Scope,
    ) -> Report {
        let mut report = Report::default();
        let mut phases: BTreeMap<u8, Vec<&Group>> = BTreeMap::new();
        for g in desired.groups.values() {
            phases.entry(g.phase).or_default().push(g);
        }
        // The index of owned rows is rebuilt only after writes: an unchanged state costs one
        // scan of the replica.
        let mut index: Option<OwnedIndex> = None;
        for groups in phases.values() {
            let mut pending: Vec<&Group> = groups.clone();
            for attempt in 0..=self.retries {
                let plan = {
                    let r = replica.read().unwrap_or_else(|e| e.into_inner());
                    let idx = index.get_or_insert_with(|| OwnedIndex::build(&r, &self.owner));
                    self.plan_indexed(&r, idx, pending.iter().copied(), Scope::OnlyTheseGroups)
                };
                if !plan.is_empty() {
                    index = None;
                }
                let failed = self
                    .send(client, plan, &mut report, attempt == self.retries)
                    .await;
                if failed.is_empty() {
                    break;
                }
                pending.retain(|g| failed.contains(&g.id));
            }
        }
        if scope == Scope::Everything {
            for attempt in 0..=self.retries {
                let plan = {
                    let r = replica.read().unwrap_or_else(|e| e.into_inner());
                    let idx = index.get_or_insert_with(|| OwnedIndex::build(&r, &self.owner));
                    self.plan_removals(idx, |g| {
                        desired.groups.contains_key(g) || desired.held.contains(g)
                    })
                };
                if !plan.is_empty() {
                    index = None;
                }
                if self
                    .send(client, plan, &mut report, attempt == self.retries)
                    .await
                    .is_empty()
                {
                    break;
                }
            }
        }
        report
    }

    /// Upserts one group (the incremental path for a single object's event).
    pub async fn upsert(
        &self,
        client: &Client,
        replica: &Arc<RwLock<Replica>>,
        group: &Group,
    ) -> Report {
        let mut desired = DesiredState::default();
        desired.insert(group.clone());
        self.reconcile(client, replica, &desired, Scope::OnlyTheseGroups)
            .await
    }

    /// Removes one group's rows (the incremental path for a deleted object).
    pub async fn delete(
        &self,
        client: &Client,
        replica: &Arc<RwLock<Replica>>,
        group: &str,
    ) -> Report {
        let mut report = Report::default();
        for attempt in 0..=self.retries {
            let plan = {
                let r = replica.read().unwrap_or_else(|e| e.into_inner());
                self.plan_delete(&r, group)
            };
            if self
                .send(client, plan, &mut report, attempt == self.retries)
                .await
                .is_empty()
            {
                break;
            }
        }
        report
    }

    /// Sends a plan's transactions pipelined; returns the groups that failed.
    async fn send(
        &self,
        client: &Client,
        plan: Plan,
        report: &mut Report,
        last: bool,
    ) -> BTreeSet<String> {
        let mut inflight = Vec::with_capacity(plan.txns.len());
        for txn in &plan.txns {
            report.transactions += 1;
            report.operations += txn.ops.len();
            report.bytes += serde_json::to_vec(&txn.ops).map(|v| v.len()).unwrap_or(0);
            if txn.unresolved.is_empty() {
                report.incomplete.remove(&txn.group);
            } else {
                report.incomplete.insert(txn.group.clone());
            }
            inflight.push(async { (txn.group.clone(), client.transact(&self.db, &txn.ops).await) });
        }
        let mut failed = BTreeSet::new();
        for (group, result) in futures::future::join_all(inflight).await {
            match result {
                Ok(_) => {
                    report.failed.remove(&group);
                }
                Err(e) => {
                    tracing::warn!(%group, error = %e, "reconcile transaction failed");
                    failed.insert(group.clone());
                    if last {
                        report.failed.insert(group, e);
                    }
                }
            }
        }
        failed
    }
}

/// The operations that make an owned row go away: a root row is deleted; a child row is
/// removed from its parents' columns (the server then garbage-collects it), unless its
/// parents are going away too.
fn removal_ops(
    idx: &OwnedIndex,
    table: &str,
    owned: &Owned,
    doomed: &BTreeSet<Uuid>,
    ops: &mut Vec<Operation>,
) {
    let is_child = PARENT_COLUMNS.iter().any(|(child, _, _)| *child == table);
    let uuid = owned.row.uuid;
    if !is_child {
        ops.push(Operation::delete(table, vec![Condition::uuid(uuid)]));
        return;
    }
    for (ptable, puuid, pcol) in idx.parents.get(&uuid).into_iter().flatten() {
        if doomed.contains(puuid) {
            continue;
        }
        ops.push(Operation::mutate(
            ptable.as_str(),
            vec![Condition::uuid(*puuid)],
            vec![Mutation::new(
                pcol.as_str(),
                Mutator::Delete,
                Datum::scalar(uuid),
            )],
        ));
    }
}

/// `mutate table where _uuid == target: column insert member`.
fn reference_op(table: &str, target: Atom, column: &str, member: Atom) -> Operation {
    Operation::mutate(
        table,
        vec![Condition::eq("_uuid", Datum::scalar(target))],
        vec![Mutation::new(
            column,
            Mutator::Insert,
            Datum::scalar(member),
        )],
    )
}

/// The mutations that turn membership column `have` into `want`.
fn member_mutations(column: &str, have: &Datum, want: &Datum, out: &mut Vec<Mutation>) {
    // The usual case on an unchanged pass: one linear comparison instead of a binary search
    // per element each way (address sets of thousands of pods made that dominate planning).
    if have == want {
        return;
    }
    match want {
        Datum::Map(want_pairs) => {
            let have_pairs = have.as_map();
            let stale_keys: Vec<Atom> = have_pairs
                .iter()
                .filter(|(k, v)| want.get(k) != Some(v))
                .map(|(k, _)| k.clone())
                .collect();
            let missing: Vec<(Atom, Atom)> = want_pairs
                .iter()
                .filter(|(k, v)| have.get(k) != Some(v))
                .cloned()
                .collect();
            if !stale_keys.is_empty() {
                out.push(Mutation::new(
                    column,
                    Mutator::Delete,
                    Datum::set(stale_keys),
                ));
            }
            if !missing.is_empty() {
                out.push(Mutation::new(column, Mutator::Insert, Datum::map(missing)));
            }
        }
        Datum::Set(want_set) => {
            let extra: Vec<Atom> = have
                .as_set()
                .iter()
                .filter(|a| !want.contains(a))
                .cloned()
                .collect();
            let missing: Vec<Atom> = want_set
                .iter()
                .filter(|a| matches!(a, Atom::NamedUuid(_)) || !have.contains(a))
                .cloned()
                .collect();
            if !extra.is_empty() {
                out.push(Mutation::new(column, Mutator::Delete, Datum::set(extra)));
            }
            if !missing.is_empty() {
                out.push(Mutation::new(column, Mutator::Insert, Datum::set(missing)));
            }
        }
    }
}

#[cfg(test)]
#[path = "reconcile/tests.rs"]
mod tests;

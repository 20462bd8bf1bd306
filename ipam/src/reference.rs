//! The reference allocator for benchmarks: the same subnets, address search and bookkeeping as
//! [`Ipam`](crate::Ipam), behind one global mutex with one `HashMap` of owners. This is how
//! Kube-OVN serialises its IPAM, so comparing the two measures the locking design alone.
//!
//! It supports what the benchmarks drive: subnets, next-free allocation with a random MAC,
//! release, and restore. Use [`Ipam`](crate::Ipam) for everything else.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::allocator::{Hasher, Record, random_mac, split_statics};
use crate::error::{IpamError, Result};
use crate::owners::THREAD_SLOTS;
use crate::subnet::Subnet;
use crate::types::{
    AddressRequest, Allocation, RestoreConflict, RestoreRecord, RestoreReport, SubnetSpec,
};

#[derive(Default)]
struct Inner {
    subnets: Vec<Subnet>,
    by_name: HashMap<Box<str>, usize, Hasher>,
    /// Owners of each subnet (by subnet index), as Kube-OVN keeps a map per subnet: an owner
    /// is named within its subnet.
    owners: Vec<HashMap<Box<str>, Record, Hasher>>,
    macs: HashSet<u64, Hasher>,
}

/// One mutex around everything (see the module docs).
#[derive(Default)]
pub struct MutexIpam {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MutexIpam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MutexIpam").finish_non_exhaustive()
    }
}

impl MutexIpam {
    /// An empty reference allocator.
    pub fn new() -> MutexIpam {
        MutexIpam::default()
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a subnet.
    pub fn add_subnet(&self, spec: SubnetSpec) -> Result<()> {
        let mut g = self.inner();
        if g.by_name.contains_key(spec.name.as_str()) {
            return Err(IpamError::SubnetExists { subnet: spec.name });
        }
        let id = g.subnets.len();
        let s = Subnet::build(id as u32, &spec)?;
        g.subnets.push(s);
        g.owners.push(HashMap::default());
        g.by_name.insert(spec.name.into(), id);
        Ok(())
    }

    /// Next free addresses and a random MAC for `owner` (idempotent per owner).
    pub fn allocate(&self, subnet: &str, owner: &str) -> Result<Allocation> {
        if owner.is_empty() {
            return Err(IpamError::EmptyOwner);
        }
        let mut g = self.inner();
        let Inner {
            subnets,
            by_name,
            owners,
            macs,
        } = &mut *g;
        let id = *by_name
            .get(subnet)
            .ok_or_else(|| IpamError::SubnetNotFound {
                subnet: subnet.to_owned(),
            })?;
        if let Some(have) = owners[id].get(owner) {
            return Ok(have.allocation());
        }
        let sub = &subnets[id];
        let claimed = sub.claim(&AddressRequest::Next, (None, None), 0)?;
        let mac = loop {
            // Any slot pattern: this allocator keeps one set, so those bits are random.
            let m = random_mac(fastrand::usize(..THREAD_SLOTS));
            if macs.insert(m.to_u64()) {
                break m;
            }
        };
        let rec = Record {
            subnet: id as u32,
            v4: claimed.v4.map(|c| c.0),
            v6: claimed.v6.map(|c| c.0),
            mac: Some(mac),
        };
        owners[id].insert(owner.into(), rec);
        Ok(rec.allocation())
    }

    /// Releases what `owner` holds in `subnet`.
    pub fn release(&self, subnet: &str, owner: &str) -> Option<Allocation> {
        let mut g = self.inner();
        let id = *g.by_name.get(subnet)?;
        let rec = g.owners[id].remove(owner)?;
        if let Some(m) = rec.mac {
            g.macs.remove(&m.to_u64());
        }
        g.subnets[rec.subnet as usize].release(rec.v4, rec.v6);
        Some(rec.allocation())
    }

    /// Loads existing allocations (conflicting records are reported without naming holders).
    pub fn restore(&self, records: impl IntoIterator<Item = RestoreRecord>) -> RestoreReport {
        let mut g = self.inner();
        let mut report = RestoreReport::default();
        let records = records.into_iter();
        let hint = records.size_hint().0;
        for (index, r) in records.enumerate() {
            match restore_one(&mut g, &r) {
                Ok(rec) => {
                    let owners = &mut g.owners[rec.subnet as usize];
                    // Room for every record in the first subnet restored into, as a restore
                    // of one big subnet (what the benchmark does) would size it.
                    if owners.capacity() == 0 {
                        owners.reserve(hint);
                    }
                    owners.insert(r.owner.into_boxed_str(), rec);
                    report.restored += 1;
                }
                Err(error) => report.conflicts.push(RestoreConflict {
                    index,
                    owner: r.owner,
                    error,
                }),
            }
        }
        report
    }
}

fn restore_one(g: &mut Inner, r: &RestoreRecord) -> Result<Record> {
    let id = *g
        .by_name
        .get(r.subnet.as_str())
        .ok_or_else(|| IpamError::SubnetNotFound {
            subnet: r.subnet.clone(),
        })?;
    let sub = &g.subnets[id];
    let statics = split_statics(&r.ips)?;
    if g.owners[id].contains_key(r.owner.as_str()) {
        return Err(IpamError::OwnerHoldsOther {
            owner: r.owner.clone(),
            held: String::new(),
        });
    }
    if let Some(m) = r.mac {
        if g.macs.contains(&m.to_u64()) {
            return Err(IpamError::MacInUse {
                mac: m,
                owner: None,
            });
        }
    }
    let claimed = sub.claim_exact(statics)?;
    if let Some(m) = r.mac {
        g.macs.insert(m.to_u64());
    }
    let rec = Record {
        subnet: id as u32,
        v4: claimed.v4.map(|c| c.0),
        v6: claimed.v6.map(|c| c.0),
        mac: r.mac,
    };
    Ok(rec)
}

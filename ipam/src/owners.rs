//! The owner records of one shard, stored compactly.
//!
//! A million owners must fit in tens of MiB, so a record is not a `String` plus a struct of
//! `Option<IpAddr>`s in a hash map bucket (over 150 bytes each once the map's spare capacity is
//! counted). Each record is encoded into a byte arena, about 25 bytes for a typical pod key:
//!
//! `head length (varint) | head | tail id (varint) | flags | subnet id (varint)
//!  | [v4: 4 bytes] | [v6: prefix index (varint), low 64 bits (varint)] | [MAC: 6 bytes]`
//!
//! Owner keys look like `pod.namespace/eth0`: many owners share everything from the first
//! `.` on (the *tail*), so tails are interned per shard and a record keeps only the head and
//! the tail's id. Likewise the high 64 bits of IPv6 addresses are
//! interned (one entry per distinct prefix, usually one per subnet), so sequential addresses
//! in a `/64` take 4 bytes.
//! An open-addressing table of 4-byte handles indexes the arena by owner key. Freed records go
//! to free lists by exact length (keys of one workload have similar lengths, so churn reuses
//! them); the arena is compacted when free space outgrows live records.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::allocator::Hasher;
use crate::types::MacAddr;

/// Longest owner key accepted, in bytes. Kubernetes names are at most 253 bytes; a key
/// `name.namespace/interface` stays far below this.
pub(crate) const MAX_OWNER_LEN: usize = 4096;

/// What one owner holds, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) subnet: u32,
    pub(crate) v4: Option<Ipv4Addr>,
    pub(crate) v6: Option<Ipv6Addr>,
    pub(crate) mac: Option<MacAddr>,
}

const HAS_V4: u8 = 1;
const HAS_V6: u8 = 2;
const HAS_MAC: u8 = 4;

/// Bits of a handle that give the byte offset inside its page.
const OFFSET_BITS: u32 = 16;
const PAGE_MAX: usize = 1 << OFFSET_BITS;
/// The first page is small so an allocator with a few owners per shard stays small.
const PAGE_MIN: usize = 8 << 10;
/// Free lists exist for records up to this many bytes; longer ones become garbage until the
/// next compaction.
const FREE_CLASSES: usize = 256;
const NONE: u32 = u32::MAX;
/// Compaction waits until at least this much is free, so small shards never compact.
const COMPACT_MIN: usize = 64 << 10;

/// An owner key split into its head and its interned tail (from the first `.` on).
#[inline]
fn split_key(key: &[u8]) -> (&[u8], &[u8]) {
    let at = key.iter().position(|&b| b == b'.').unwrap_or(key.len());
    key.split_at(at)
}

/// Hash of an owner key; the same function picks the shard and the bucket.
#[inline]
pub(crate) fn hash_key(hasher: &Hasher, key: &[u8]) -> u64 {
    hasher.hash_one(key)
}

/// Owner records of one shard.
pub(crate) struct Owners {
    index: hashbrown::HashTable<u32>,
    arena: Arena,
    /// Boxed, with the prefixes, so the shard's hot fields share fewer cache lines: these are
    /// read on most operations but written only when a new tail or prefix appears.
    tails: Box<Tails>,
    /// High 64 bits of IPv6 addresses, as 8 big-endian bytes.
    v6_prefixes: Box<Tails>,
    hasher: Hasher,
}

/// An owner key as stored: head plus interned tail. `Display` writes the whole key.
#[derive(Clone, Copy)]
pub(crate) struct Key<'a> {
    head: &'a [u8],
    tail: &'a [u8],
}

impl std::fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are stored only from a `&str`, split at an ASCII `.`, so both halves are UTF-8.
        for part in [self.head, self.tail] {
            f.write_str(std::str::from_utf8(part).map_err(|_| std::fmt::Error)?)?;
        }
        Ok(())
    }
}

/// Interned byte strings of one shard (key tails, IPv6 prefixes). They are not reference counted, so a release writes
/// nothing here (a count shared by every owner of a namespace would be written by every
/// allocation in it, from every core); instead tails no record uses are swept once they
/// outnumber the owners (see [`Owners::sweep_tails`]).
struct Tails {
    index: hashbrown::HashTable<u32>,
    /// Tail bytes by id; `None` marks a free id.
    entries: Vec<Option<Box<[u8]>>>,
    free: Vec<u32>,
    /// The id interned last: consecutive owners of a shard often share a namespace, and
    /// comparing with it spares a hash.
    last: u32,
}

impl Tails {
    fn new() -> Tails {
        Tails {
            index: hashbrown::HashTable::new(),
            entries: Vec::new(),
            free: Vec::new(),
            last: NONE,
        }
    }

    fn get(&self, id: u32) -> &[u8] {
        self.entries[id as usize].as_deref().unwrap_or_default()
    }

    /// Ids in use.
    fn live(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// The id of `tail`, adding it if new.
    fn intern(&mut self, tail: &[u8], hasher: &Hasher) -> u32 {
        if let Some(Some(t)) = self.entries.get(self.last as usize) {
            if **t == *tail {
                return self.last;
            }
        }
        let id = self.intern_hashed(tail, hasher);
        self.last = id;
        id
    }

    fn intern_hashed(&mut self, tail: &[u8], hasher: &Hasher) -> u32 {
        let h = hasher.hash_one(tail);
        let entries = &mut self.entries;
        if let Some(&id) = self
            .index
            .find(h, |&i| entries[i as usize].as_deref() == Some(tail))
        {
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                entries[id as usize] = Some(tail.into());
                id
            }
            None => {
                entries.push(Some(tail.into()));
                (entries.len() - 1) as u32
            }
        };
        self.index.insert_unique(h, id, |&i| {
            hasher.hash_one(entries[i as usize].as_deref().unwrap_or_default())
        });
        id
    }

    /// Forgets every tail whose id is not marked in `used`.
    fn retain(&mut self, used: &[bool], hasher: &Hasher) {
        for (id, e) in self.entries.iter_mut().enumerate() {
            if e.is_none() || used[id] {
                continue;
            }
            if let Some(tail) = e.take() {
                let id = id as u32;
                if let Ok(found) = self.index.find_entry(hasher.hash_one(&*tail), |&i| i == id) {
                    found.remove();
                }
                self.free.push(id);
            }
        }
    }
}

struct Arena {
    pages: Vec<Box<[u8]>>,
    /// Bytes used in the last page.
    tail: usize,
    /// Heads of the free lists, by record length; a free record starts with the next handle.
    free: Box<[u32]>,
    live: usize,
    /// Bytes not holding a live record: free-listed records and page tails.
    garbage: usize,
}

impl Arena {
    fn new() -> Arena {
        Arena {
            pages: Vec::new(),
            tail: 0,
            free: vec![NONE; FREE_CLASSES + 1].into_boxed_slice(),
            live: 0,
            garbage: 0,
        }
    }

    #[inline]
    fn bytes(&self, h: u32) -> &[u8] {
        &self.pages[(h >> OFFSET_BITS) as usize][(h as usize) & (PAGE_MAX - 1)..]
    }

    #[inline]
    fn bytes_mut(&mut self, h: u32) -> &mut [u8] {
        &mut self.pages[(h >> OFFSET_BITS) as usize][(h as usize) & (PAGE_MAX - 1)..]
    }

    /// A slot of exactly `n` bytes (`4 <= n <= PAGE_MIN`).
    fn alloc(&mut self, n: usize) -> u32 {
        self.live += n;
        if n <= FREE_CLASSES && self.free[n] != NONE {
            let h = self.free[n];
            let b = self.bytes(h);
            let next = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            self.free[n] = next;
            self.garbage -= n;
            return h;
        }
        let fits = self.pages.last().is_some_and(|p| self.tail + n <= p.len());
        if !fits {
            if let Some(p) = self.pages.last() {
                self.garbage += p.len() - self.tail;
            }
            let size = (PAGE_MIN << self.pages.len().min(3)).min(PAGE_MAX);
            // 65536 pages of 64 KiB is 4 GiB of records in one shard (256 GiB in all):
            // memory runs out long before the handle does.
            assert!(
                self.pages.len() < 1 << (32 - OFFSET_BITS),
                "owner arena full"
            );
            self.pages.push(vec![0u8; size].into_boxed_slice());
            self.tail = 0;
        }
        let h = (((self.pages.len() - 1) as u32) << OFFSET_BITS) | self.tail as u32;
        self.tail += n;
        h
    }

    fn free(&mut self, h: u32, n: usize) {
        self.live -= n;
        self.garbage += n;
        if n <= FREE_CLASSES {
            let next = self.free[n];
            self.bytes_mut(h)[..4].copy_from_slice(&next.to_le_bytes());
            self.free[n] = h;
        }
    }
}

fn put_varint(out: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        out[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    out[i] = v as u8;
    i + 1
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[inline]
fn get_varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*pos];
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

/// The key head and tail id of the record at the start of `b`, and where the rest begins.
#[inline]
fn key_of(b: &[u8]) -> (&[u8], u32, usize) {
    let mut pos = 0;
    let len = get_varint(b, &mut pos) as usize;
    let head = &b[pos..pos + len];
    pos += len;
    let tail = get_varint(b, &mut pos) as u32;
    (head, tail, pos)
}

impl Owners {
    pub(crate) fn new(hasher: Hasher) -> Owners {
        Owners {
            index: hashbrown::HashTable::new(),
            arena: Arena::new(),
            tails: Box::new(Tails::new()),
            v6_prefixes: Box::new(Tails::new()),
            hasher,
        }
    }

    /// Whether the record at `handle` belongs to the key split as `head`, `tail`.
    #[inline]
    fn is_key(arena: &Arena, tails: &Tails, handle: u32, head: &[u8], tail: &[u8]) -> bool {
        let (h, t, _) = key_of(arena.bytes(handle));
        h == head && tails.get(t) == tail
    }

    /// The stored key's hash (for rehashing the index), joining head and tail in `scratch`.
    fn stored_hash(
        arena: &Arena,
        tails: &Tails,
        hasher: &Hasher,
        scratch: &RefCell<Vec<u8>>,
        handle: u32,
    ) -> u64 {
        let (h, t, _) = key_of(arena.bytes(handle));
        let mut key = scratch.borrow_mut();
        key.clear();
        key.extend_from_slice(h);
        key.extend_from_slice(tails.get(t));
        hash_key(hasher, &key)
    }

    /// Decodes the record at `h`: its key, the record and its encoded length.
    fn decode(&self, h: u32) -> (Key<'_>, Record, usize) {
        let b = self.arena.bytes(h);
        let (head, tail, mut pos) = key_of(b);
        let key = Key {
            head,
            tail: self.tails.get(tail),
        };
        let flags = b[pos];
        pos += 1;
        let subnet = get_varint(b, &mut pos) as u32;
        let v4 = (flags & HAS_V4 != 0).then(|| {
            let a = Ipv4Addr::from([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]);
            pos += 4;
            a
        });
        let v6 = (flags & HAS_V6 != 0).then(|| {
            let p = self.v6_prefixes.get(get_varint(b, &mut pos) as u32);
            let prefix = p.try_into().map_or(0, u64::from_be_bytes);
            let low = get_varint(b, &mut pos);
            Ipv6Addr::from((u128::from(prefix) << 64) | u128::from(low))
        });
        let mac = (flags & HAS_MAC != 0).then(|| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&b[pos..pos + 6]);
            pos += 6;
            MacAddr(m)
        });
        (
            key,
            Record {
                subnet,
                v4,
                v6,
                mac,
            },
            pos,
        )
    }

    /// Forgets tails and prefixes no record uses. Run when either outnumbers owners twice
    /// over, so the sweep (linear in owners) is paid for by at least as many insertions.
    fn sweep_interned(&mut self) {
        let mut tails = vec![false; self.tails.entries.len()];
        let mut prefixes = vec![false; self.v6_prefixes.entries.len()];
        for &h in self.index.iter() {
            let b = self.arena.bytes(h);
            let (_, tail, mut pos) = key_of(b);
            tails[tail as usize] = true;
            let flags = b[pos];
            pos += 1;
            get_varint(b, &mut pos);
            if flags & HAS_V4 != 0 {
                pos += 4;
            }
            if flags & HAS_V6 != 0 {
                prefixes[get_varint(b, &mut pos) as usize] = true;
            }
        }
        self.tails.retain(&tails, &self.hasher);
        self.v6_prefixes.retain(&prefixes, &self.hasher);
    }

    /// Encodes `rec` for `key` into a new arena slot.
    fn encode(&mut self, key: &[u8], rec: &Record) -> u32 {
        let (head, tail) = split_key(key);
        let most = 2 * self.index.len() + 64;
        if self.tails.live() > most || self.v6_prefixes.live() > most {
            self.sweep_interned();
        }
        let tail = self.tails.intern(tail, &self.hasher);
        let v6 = rec.v6.map(|a| {
            let v = u128::from(a);
            let prefix = ((v >> 64) as u64).to_be_bytes();
            let id = self.v6_prefixes.intern(&prefix, &self.hasher);
            (u64::from(id), v as u64)
        });
        let mut flags = 0;
        let mut n = varint_len(head.len() as u64)
            + head.len()
            + varint_len(tail.into())
            + 1
            + varint_len(rec.subnet.into());
        if rec.v4.is_some() {
            flags |= HAS_V4;
            n += 4;
        }
        if let Some((p, low)) = v6 {
            flags |= HAS_V6;
            n += varint_len(p) + varint_len(low);
        }
        if rec.mac.is_some() {
            flags |= HAS_MAC;
            n += 6;
        }
        // A free slot must hold its next-pointer.
        let n = n.max(4);
        let h = self.arena.alloc(n);
        let b = &mut self.arena.bytes_mut(h)[..n];
        let mut pos = put_varint(b, head.len() as u64);
        b[pos..pos + head.len()].copy_from_slice(head);
        pos += head.len();
        pos += put_varint(&mut b[pos..], tail.into());
        b[pos] = flags;
        pos += 1;
        pos += put_varint(&mut b[pos..], rec.subnet.into());
        if let Some(a) = rec.v4 {
            b[pos..pos + 4].copy_from_slice(&a.octets());
            pos += 4;
        }
        if let Some((p, low)) = v6 {
            pos += put_varint(&mut b[pos..], p);
            pos += put_varint(&mut b[pos..], low);
        }
        if let Some(m) = rec.mac {
            b[pos..pos + 6].copy_from_slice(&m.0);
        }
        h
    }

    /// The record of `owner`, whose hash is `h`.
    pub(crate) fn get(&self, h: u64, owner: &str) -> Option<Record> {
        let (head, tail) = split_key(owner.as_bytes());
        let (arena, tails) = (&self.arena, &self.tails);
        let handle = *self
            .index
            .find(h, |&x| Self::is_key(arena, tails, x, head, tail))?;
        Some(self.decode(handle).1)
    }

    /// Adds a record for an owner that has none.
    pub(crate) fn insert(&mut self, h: u64, owner: &str, rec: Record) {
        let handle = self.encode(owner.as_bytes(), &rec);
        let (arena, tails, hasher) = (&self.arena, &self.tails, &self.hasher);
        let scratch = RefCell::new(Vec::new());
        self.index.insert_unique(h, handle, |&x| {
            Self::stored_hash(arena, tails, hasher, &scratch, x)
        });
    }

    /// Removes and returns the record of `owner`.
    pub(crate) fn remove(&mut self, h: u64, owner: &str) -> Option<Record> {
        let (head, tail) = split_key(owner.as_bytes());
        let (arena, tails) = (&self.arena, &self.tails);
        let entry = self
            .index
            .find_entry(h, |&x| Self::is_key(arena, tails, x, head, tail))
            .ok()?;
        let (handle, _) = entry.remove();
        let (_, rec, n) = self.decode(handle);
        self.arena.free(handle, n.max(4));
        if self.arena.garbage > COMPACT_MIN && self.arena.garbage > self.arena.live {
            self.compact();
        }
        Some(rec)
    }

    /// Copies live records into fresh pages, dropping free space; handles change in place,
    /// so the index needs no rehash.
    fn compact(&mut self) {
        let old = std::mem::replace(&mut self.arena, Arena::new());
        for handle in self.index.iter_mut() {
            let b = old.bytes(*handle);
            let n = record_len(b).max(4);
            let h = self.arena.alloc(n);
            self.arena.bytes_mut(h)[..n].copy_from_slice(&b[..n]);
            *handle = h;
        }
    }

    /// Every owner and its record.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key<'_>, Record)> {
        self.index.iter().map(|&h| {
            let (key, rec, _) = self.decode(h);
            (key, rec)
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Makes room for `n` more owners.
    pub(crate) fn reserve(&mut self, n: usize) {
        let (arena, tails, hasher) = (&self.arena, &self.tails, &self.hasher);
        let scratch = RefCell::new(Vec::new());
        self.index
            .reserve(n, |&x| Self::stored_hash(arena, tails, hasher, &scratch, x));
    }
}

/// Encoded length of the record at the start of `b`.
fn record_len(b: &[u8]) -> usize {
    let (_, _, mut pos) = key_of(b);
    let flags = b[pos];
    pos += 1;
    get_varint(b, &mut pos);
    if flags & HAS_V4 != 0 {
        pos += 4;
    }
    if flags & HAS_V6 != 0 {
        get_varint(b, &mut pos);
        get_varint(b, &mut pos);
    }
    if flags & HAS_MAC != 0 {
        pos += 6;
    }
    pos
}

#[inline]
fn mac_hash(hasher: &Hasher, m: &[u8; 6]) -> u64 {
    hasher.hash_one(MacAddr(*m).to_u64())
}

/// MACs whose uniqueness one shard decides, six bytes each in an open-addressing table.
pub(crate) struct MacSet {
    table: hashbrown::HashTable<[u8; 6]>,
    hasher: Hasher,
}

impl MacSet {
    pub(crate) fn new(hasher: Hasher) -> MacSet {
        MacSet {
            table: hashbrown::HashTable::new(),
            hasher,
        }
    }

    #[inline]
    fn hash(&self, m: &[u8; 6]) -> u64 {
        mac_hash(&self.hasher, m)
    }

    pub(crate) fn contains(&self, m: MacAddr) -> bool {
        self.table.find(self.hash(&m.0), |x| *x == m.0).is_some()
    }

    /// Adds `m`; false if it was there.
    pub(crate) fn insert(&mut self, m: MacAddr) -> bool {
        let h = self.hash(&m.0);
        let hasher = &self.hasher;
        match self.table.entry(h, |x| *x == m.0, |x| hasher.hash_one(x)) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(m.0);
                true
            }
        }
    }

    pub(crate) fn remove(&mut self, m: MacAddr) {
        if let Ok(e) = self.table.find_entry(self.hash(&m.0), |x| *x == m.0) {
            e.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u32) -> Record {
        Record {
            subnet: i % 3,
            v4: (i % 2 == 0).then(|| Ipv4Addr::from(0x0a00_0000 + i)),
            v6: (i % 3 != 0)
                .then(|| Ipv6Addr::from((u128::from(i % 5) << 100) | (u128::from(i) << (i % 60)))),
            mac: (i % 4 != 1).then(|| MacAddr::from_u64(u64::from(i) * 7919)),
        }
    }

    #[test]
    fn varints_round_trip() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut b = [0u8; 10];
            let n = put_varint(&mut b, v);
            assert_eq!(n, varint_len(v));
            let mut pos = 0;
            assert_eq!(get_varint(&b, &mut pos), v);
            assert_eq!(pos, n);
        }
    }

    /// Records survive insert, churn through the free lists and compaction unchanged.
    #[test]
    fn records_round_trip_through_churn_and_compaction() {
        let hasher = Hasher::default();
        let mut o = Owners::new(hasher.clone());
        let key = |i: u32| format!("pod-{}.ns/eth{}", "x".repeat((i % 40) as usize), i);
        let h = |k: &str| hash_key(&hasher, k.as_bytes());
        for i in 0..20_000 {
            let k = key(i);
            o.insert(h(&k), &k, rec(i));
        }
        // Remove most, so free space outgrows live records and the arena compacts.
        for i in (0..20_000).filter(|i| i % 10 != 0) {
            let k = key(i);
            assert_eq!(o.remove(h(&k), &k), Some(rec(i)));
        }
        assert!(o.arena.garbage <= o.arena.live.max(COMPACT_MIN));
        for i in 20_000..25_000 {
            let k = key(i);
            o.insert(h(&k), &k, rec(i));
        }
        for i in 0..25_000 {
            let k = key(i);
            let want = (i >= 20_000 || i % 10 == 0).then(|| rec(i));
            assert_eq!(o.get(h(&k), &k), want, "owner {k}");
        }
        assert_eq!(o.len(), 2_000 + 5_000);
        assert_eq!(o.iter().count(), o.len());
        assert!(o.iter().all(|(k, r)| {
            let k = k.to_string();
            o.get(h(&k), &k) == Some(r)
        }));
        // Every key in this test has a distinct tail; released ones are swept.
        assert!(o.tails.live() <= 2 * o.len() + 65);
    }

    #[test]
    fn mac_set() {
        let mut s = MacSet::new(Hasher::default());
        let m = MacAddr::from_u64(0x0200_0000_0001);
        assert!(!s.contains(m));
        assert!(s.insert(m));
        assert!(!s.insert(m));
        assert!(s.contains(m));
        s.remove(m);
        assert!(!s.contains(m));
    }
}

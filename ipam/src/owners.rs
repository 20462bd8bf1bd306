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
//!
//! Free lists, bump pages and the tail and prefix caches are per [`lane`] (a thread's slot), so
//! two threads whose owners hash to the same shard reuse their own records and write their own
//! cache lines: a record freed by one core and reused by the other moved its line across.

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
/// The first page is small, and each next one twice the last up to [`PAGE_MAX`], so a shard
/// with a few owners stays small: an allocator with a thousand subnets has 16,000 shards.
const PAGE_FIRST: usize = 256;
/// Free lists exist for records up to this many bytes; longer ones become garbage until the
/// next compaction.
const FREE_CLASSES: usize = 256;
const NONE: u32 = u32::MAX;
/// While a shard holds fewer owners than `SPARSE_MAX`, its index is kept at most
/// `1 / SPARSE` full, so owners of two threads rarely share an index cache line (each insert
/// and removal writes its owner's line). Larger shards fill up to the table's usual 7/8, for
/// memory.
const SPARSE: usize = 4;
const SPARSE_MAX: usize = 1 << 14;
/// Compaction waits until at least this much is free, so small shards never compact.
const COMPACT_MIN: usize = 64 << 10;

/// An owner key split into its head and its interned tail (from the first `.` on).
#[inline]
fn split_key(key: &[u8]) -> (&[u8], &[u8]) {
    key.split_at(find_dot(key))
}

/// Position of the first `.` in `key` (its length if none), eight bytes at a time.
#[inline]
fn find_dot(key: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = key.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])) ^ (ONES * u64::from(b'.'));
        // The lowest flagged byte is the first zero byte of `x`, that is the first dot.
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return i + (zero.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    key[i..]
        .iter()
        .position(|&b| b == b'.')
        .map_or(key.len(), |p| i + p)
}

/// Copies a short `src` into `dst` (same length) without a call into `memcpy`.
#[inline]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if (8..=16).contains(&n) {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..n].copy_from_slice(&src[n - 8..]);
    } else {
        dst[..n].copy_from_slice(src);
    }
}

/// Hash of an owner key; the same function picks the shard and the bucket.
#[inline]
pub(crate) fn hash_key(hasher: &Hasher, key: &[u8]) -> u64 {
    hasher.hash_one(key)
}

/// Owner records of one shard: the index by owner key, and the records it points into.
///
/// `repr(C)` down to [`Arena`] so the fields every insertion and removal writes (the index
/// header, the record counters) come first, [`Owners::WRITTEN_BYTES`] of them, and the ones
/// only read follow: the shard puts the first next to its mutex word in one cache line.
#[repr(C)]
pub(crate) struct Owners {
    index: hashbrown::HashTable<u32>,
    store: Store,
}

/// Everything of [`Owners`] but the index, so a caller can hold a slot of the index while
/// the record is encoded.
#[repr(C)]
struct Store {
    /// Interned tails plus prefixes, mirrored here so deciding whether to sweep reads no
    /// boxed table.
    interned: usize,
    arena: Arena,
    /// Boxed, so the shard's inline state stays within one 128-byte block: these are read
    /// only when a lane's inline caches miss.
    tables: Box<Interned>,
    hasher: Hasher,
}

/// The interned tables of one shard.
struct Interned {
    tails: Tails,
    /// High 64 bits of IPv6 addresses, as 8 big-endian bytes.
    v6_prefixes: Tails,
}

/// What an owner's slot in the index holds: its record, or room for one.
pub(crate) enum Entry<'a> {
    /// The owner holds this.
    Held(Record),
    /// The owner holds nothing; [`Vacant::insert`] gives it a record.
    Vacant(Vacant<'a>),
}

/// An owner's empty slot, found by [`Owners::entry`]. Dropping it changes nothing.
pub(crate) struct Vacant<'a> {
    slot: hashbrown::hash_table::VacantEntry<'a, u32>,
    store: &'a mut Store,
    lane: usize,
    /// Where the key's tail starts, and the tail's id if it is interned already.
    head_len: usize,
    tail_id: Option<u32>,
}

impl Vacant<'_> {
    /// Stores `rec` for `owner`, the key this slot was found for.
    pub(crate) fn insert(self, owner: &str, rec: Record) {
        let (head, tail) = owner.as_bytes().split_at(self.head_len);
        let handle = self.store.encode(self.lane, head, tail, self.tail_id, &rec);
        self.slot.insert(handle);
    }
}

/// Longest tail [`Recent`] keeps inline.
const RECENT_MAX: usize = 46;

/// One interned tail and its id, inline.
struct Recent {
    id: u32,
    len: u8,
    bytes: [u8; RECENT_MAX],
}

impl Recent {
    fn empty() -> Recent {
        Recent {
            id: NONE,
            len: 0,
            bytes: [0; RECENT_MAX],
        }
    }

    /// The id, if `tail` is the cached one.
    #[inline(always)]
    fn id_of(&self, tail: &[u8]) -> Option<u32> {
        (self.id != NONE && bytes_eq(&self.bytes[..usize::from(self.len)], tail)).then_some(self.id)
    }

    #[inline]
    fn set(&mut self, id: u32, tail: &[u8]) {
        if tail.len() <= RECENT_MAX {
            self.bytes[..tail.len()].copy_from_slice(tail);
            self.len = tail.len() as u8;
            self.id = id;
        }
    }
}

/// Byte-string equality without a call into `memcmp` for the short strings owner keys are
/// made of (one or two word compares).
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    let w4 = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap_or([0; 4]));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        17..=32 => {
            w8(a, 0) == w8(b, 0)
                && w8(a, 8) == w8(b, 8)
                && w8(a, n - 16) == w8(b, n - 16)
                && w8(a, n - 8) == w8(b, n - 8)
        }
        _ => a == b,
    }
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
}

impl Tails {
    fn new() -> Tails {
        Tails {
            index: hashbrown::HashTable::new(),
            entries: Vec::new(),
            free: Vec::new(),
        }
    }

    fn get(&self, id: u32) -> &[u8] {
        self.entries
            .get(id as usize)
            .and_then(Option::as_deref)
            .unwrap_or_default()
    }

    /// Ids in use.
    fn live(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// The id of `tail`, whose hash is `h`, if interned.
    fn find(&self, tail: &[u8], h: u64) -> Option<u32> {
        let entries = &self.entries;
        self.index
            .find(h, |&i| entries[i as usize].as_deref() == Some(tail))
            .copied()
    }

    /// Interns `tail` (hash `h`), which is not interned yet.
    fn add(&mut self, tail: &[u8], h: u64, hasher: &Hasher) -> u32 {
        let entries = &mut self.entries;
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

/// Lanes a shard's arena is split into, by [`lane`]: threads in different lanes reuse their
/// own freed records and bump their own pages, so two threads whose owners share a shard do
/// not write each other's record lines.
pub(crate) const LANES: usize = 4;

/// Slots handed to live threads (see [`thread_slot`]); a thread's lane is its slot modulo
/// [`LANES`]. The allocator gives each slot a view of its own (the registry and the MACs
/// drawn in that slot), so up to this many threads never wait for one another's view.
pub(crate) const THREAD_SLOTS: usize = 64;

/// Threads currently holding each slot.
static SLOT_USERS: [std::sync::atomic::AtomicUsize; THREAD_SLOTS] =
    [const { std::sync::atomic::AtomicUsize::new(0) }; THREAD_SLOTS];

/// A thread's hold on its slot, given back when the thread exits.
struct SlotHold(usize);

impl SlotHold {
    /// Takes the slot the fewest live threads hold (the lowest on a tie), so consecutive
    /// threads also get consecutive lanes.
    ///
    /// Slots go to live threads, not to thread numbers: with `number % LANES` two running
    /// threads could share a lane while another stood empty, and a worker could land on the
    /// lane of the thread that restored or filled the allocator, whose records and MAC set
    /// are the big ones. The count is taken by compare-and-swap from the value the choice was
    /// made on, so two threads starting at the same instant cannot both take the one free
    /// slot: the loser chooses again.
    fn take() -> SlotHold {
        use std::sync::atomic::Ordering::Relaxed;
        loop {
            let (l, held) = (0..THREAD_SLOTS)
                .map(|l| (l, SLOT_USERS[l].load(Relaxed)))
                .min_by_key(|&(_, held)| held)
                .unwrap_or((0, 0));
            if SLOT_USERS[l]
                .compare_exchange(held, held + 1, Relaxed, Relaxed)
                .is_ok()
            {
                return SlotHold(l);
            }
        }
    }
}

impl Drop for SlotHold {
    fn drop(&mut self) {
        SLOT_USERS[self.0].fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

thread_local! {
    static SLOT: SlotHold = SlotHold::take();
}

/// This thread's slot, below [`THREAD_SLOTS`].
#[inline]
pub(crate) fn thread_slot() -> usize {
    // A thread whose locals are being destroyed still gets a valid slot.
    SLOT.try_with(|h| h.0).unwrap_or(0)
}

/// This thread's lane, below [`LANES`].
#[inline]
pub(crate) fn lane() -> usize {
    thread_slot() % LANES
}

/// Keeps `T` on cache lines of its own (128 bytes: adjacent-line prefetchers pull pairs).
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Padded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// What one lane of a shard writes on its own: its bump page, its free lists and its
/// caches of the last tail and IPv6 prefix.
struct Lane {
    /// Page this lane bumps into (`NONE` before its first) and bytes used in it.
    page: u32,
    tail: u32,
    /// Heads of the free lists, by record length; a free record starts with the next
    /// handle. Empty until the lane frees its first record.
    free: Vec<u32>,
    /// The tail interned or looked up last, inline: consecutive owners of a thread often
    /// share a namespace, and comparing with bytes already in the lane's cache lines spares
    /// a hash and the trip through the boxed table.
    recent_tail: Recent,
    /// The IPv6 prefix interned last, as (high 64 bits, id); id `NONE` when unset.
    recent_prefix: (u64, u32),
}

impl Lane {
    fn new() -> Lane {
        Lane {
            page: NONE,
            tail: 0,
            free: Vec::new(),
            recent_tail: Recent::empty(),
            recent_prefix: (0, NONE),
        }
    }
}

#[repr(C)]
struct Arena {
    live: usize,
    /// Bytes not holding a live record: free-listed records and abandoned page tails.
    garbage: usize,
    /// Written only when a page is added.
    pages: Vec<Box<[u8]>>,
    lanes: Box<[Padded<Lane>; LANES]>,
}

impl Arena {
    fn new() -> Arena {
        Arena {
            pages: Vec::new(),
            live: 0,
            garbage: 0,
            lanes: Box::new(std::array::from_fn(|_| Padded(Lane::new()))),
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

    /// A slot of exactly `n` bytes (`4 <= n <= PAGE_MAX`), from `lane`'s free list or page.
    /// Records are far shorter than a page: [`MAX_OWNER_LEN`] bounds the key.
    fn alloc(&mut self, lane: usize, n: usize) -> u32 {
        self.live += n;
        let l = &mut self.lanes[lane];
        if let Some(&h) = l.free.get(n).filter(|&&h| h != NONE) {
            let p = &self.pages[(h >> OFFSET_BITS) as usize];
            let o = (h as usize) & (PAGE_MAX - 1);
            l.free[n] = u32::from_le_bytes([p[o], p[o + 1], p[o + 2], p[o + 3]]);
            self.garbage -= n;
            return h;
        }
        let fits = self
            .pages
            .get(l.page as usize)
            .is_some_and(|p| l.tail as usize + n <= p.len());
        if !fits {
            if let Some(p) = self.pages.get(l.page as usize) {
                self.garbage += p.len() - l.tail as usize;
            }
            let size = (PAGE_FIRST << self.pages.len().min(8))
                .max(n.next_power_of_two())
                .min(PAGE_MAX);
            // 65536 pages of 64 KiB is 4 GiB of records in one shard (64 GiB over a subnet's shards):
            // memory runs out long before the handle does.
            assert!(
                self.pages.len() < 1 << (32 - OFFSET_BITS),
                "owner arena full"
            );
            self.pages.push(vec![0u8; size].into_boxed_slice());
            l.page = (self.pages.len() - 1) as u32;
            l.tail = 0;
        }
        let h = (l.page << OFFSET_BITS) | l.tail;
        l.tail += n as u32;
        h
    }

    /// Frees the `n`-byte record at `h` onto `lane`'s free list.
    fn free(&mut self, lane: usize, h: u32, n: usize) {
        self.live -= n;
        self.garbage += n;
        if n <= FREE_CLASSES {
            let l = &mut self.lanes[lane];
            if l.free.is_empty() {
                l.free = vec![NONE; FREE_CLASSES + 1];
            }
            let next = l.free[n];
            l.free[n] = h;
            self.bytes_mut(h)[..4].copy_from_slice(&next.to_le_bytes());
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

#[inline(always)]
fn get_varint(b: &[u8], pos: &mut usize) -> u64 {
    // One byte is the common case (lengths, ids and subnets below 128); the rest stays out
    // of line so callers keep a small frame.
    let first = b[*pos];
    if first < 0x80 {
        *pos += 1;
        return u64::from(first);
    }
    get_varint_long(b, pos)
}

#[inline(never)]
fn get_varint_long(b: &[u8], pos: &mut usize) -> u64 {
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

impl Store {
    /// Whether the record at `handle` belongs to the key `head` plus the tail with id `tail`.
    #[inline(always)]
    fn is_key(arena: &Arena, handle: u32, head: &[u8], tail: u32) -> bool {
        let b = arena.bytes(handle);
        let mut pos = 0;
        let len = get_varint(b, &mut pos) as usize;
        if len != head.len() || !bytes_eq(&b[pos..pos + len], head) {
            return false;
        }
        pos += len;
        get_varint(b, &mut pos) == u64::from(tail)
    }

    /// The stored key's hash (for rehashing the index).
    fn stored_hash(&self, handle: u32) -> u64 {
        let (h, t, _) = key_of(self.arena.bytes(handle));
        let mut key = Vec::with_capacity(h.len() + 64);
        key.extend_from_slice(h);
        key.extend_from_slice(self.tables.tails.get(t));
        hash_key(&self.hasher, &key)
    }

    /// The id of an interned tail, without interning it.
    #[inline(always)]
    fn tail_id(&self, lane: usize, tail: &[u8]) -> Option<u32> {
        match self.arena.lanes[lane].recent_tail.id_of(tail) {
            Some(id) => Some(id),
            None => self.find_tail(tail),
        }
    }

    #[inline(never)]
    fn find_tail(&self, tail: &[u8]) -> Option<u32> {
        self.tables.tails.find(tail, self.hasher.hash_one(tail))
    }

    /// Like [`Store::tail_id`], remembering a tail found in the table.
    #[inline(always)]
    fn tail_id_mut(&mut self, lane: usize, tail: &[u8]) -> Option<u32> {
        match self.arena.lanes[lane].recent_tail.id_of(tail) {
            Some(id) => Some(id),
            None => self.find_tail_mut(lane, tail),
        }
    }

    #[inline(never)]
    fn find_tail_mut(&mut self, lane: usize, tail: &[u8]) -> Option<u32> {
        let id = self.find_tail(tail)?;
        self.arena.lanes[lane].recent_tail.set(id, tail);
        Some(id)
    }

    /// The id of `tail`, adding it if new.
    #[inline(always)]
    fn intern_tail(&mut self, lane: usize, tail: &[u8]) -> u32 {
        match self.arena.lanes[lane].recent_tail.id_of(tail) {
            Some(id) => id,
            None => self.intern_tail_slow(lane, tail),
        }
    }

    #[inline(never)]
    fn intern_tail_slow(&mut self, lane: usize, tail: &[u8]) -> u32 {
        let h = self.hasher.hash_one(tail);
        let id = match self.tables.tails.find(tail, h) {
            Some(id) => id,
            None => {
                self.interned += 1;
                self.tables.tails.add(tail, h, &self.hasher)
            }
        };
        self.arena.lanes[lane].recent_tail.set(id, tail);
        id
    }

    /// The id of an IPv6 prefix (high 64 bits), adding it if new.
    #[inline]
    fn intern_prefix(&mut self, lane: usize, prefix: u64) -> u32 {
        let recent = self.arena.lanes[lane].recent_prefix;
        if recent.1 != NONE && recent.0 == prefix {
            return recent.1;
        }
        let bytes = prefix.to_be_bytes();
        let h = self.hasher.hash_one(&bytes[..]);
        let id = match self.tables.v6_prefixes.find(&bytes, h) {
            Some(id) => id,
            None => {
                self.interned += 1;
                self.tables.v6_prefixes.add(&bytes, h, &self.hasher)
            }
        };
        self.arena.lanes[lane].recent_prefix = (prefix, id);
        id
    }

    /// Decodes what follows the key of a record (`b[pos..]`): the record and where it ends.
    #[inline(always)]
    fn decode_payload(&self, b: &[u8], mut pos: usize) -> (Record, usize) {
        let flags = b[pos];
        pos += 1;
        let subnet = get_varint(b, &mut pos) as u32;
        let mut rec = Record {
            subnet,
            v4: None,
            v6: None,
            mac: None,
        };
        if flags & HAS_V4 != 0 {
            let a: [u8; 4] = b[pos..pos + 4].try_into().unwrap_or_default();
            rec.v4 = Some(Ipv4Addr::from(a));
            pos += 4;
        }
        if flags & HAS_V6 != 0 {
            let p = self.tables.v6_prefixes.get(get_varint(b, &mut pos) as u32);
            let prefix = p.try_into().map_or(0, u64::from_be_bytes);
            let low = get_varint(b, &mut pos);
            rec.v6 = Some(Ipv6Addr::from((u128::from(prefix) << 64) | u128::from(low)));
        }
        if flags & HAS_MAC != 0 {
            let m: [u8; 6] = b[pos..pos + 6].try_into().unwrap_or_default();
            rec.mac = Some(MacAddr(m));
            pos += 6;
        }
        (rec, pos)
    }

    /// Decodes the record at `h`: its key, the record and its encoded length.
    fn decode(&self, h: u32) -> (Key<'_>, Record, usize) {
        let b = self.arena.bytes(h);
        let (head, tail, pos) = key_of(b);
        let key = Key {
            head,
            tail: self.tables.tails.get(tail),
        };
        let (rec, end) = self.decode_payload(b, pos);
        (key, rec, end)
    }

    /// Encodes `rec` for the key `head` + `tail` into a new arena slot; `tail_id` is the
    /// tail's id if the caller already knows it.
    fn encode(
        &mut self,
        lane: usize,
        head: &[u8],
        tail: &[u8],
        tail_id: Option<u32>,
        rec: &Record,
    ) -> u32 {
        let tail = match tail_id {
            Some(id) => id,
            None => self.intern_tail(lane, tail),
        };
        let v6 = rec.v6.map(|a| {
            let v = u128::from(a);
            let id = self.intern_prefix(lane, (v >> 64) as u64);
            (u64::from(id), v as u64)
        });
        let mut flags = 0;
        // Lengths, tail ids and subnet ids take one byte below 128.
        let small = |v: usize| if v < 0x80 { 1 } else { varint_len(v as u64) };
        let mut n = small(head.len()) + head.len() + small(tail as usize) + 1;
        n += small(rec.subnet as usize);
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
        let h = self.arena.alloc(lane, n);
        let b = &mut self.arena.bytes_mut(h)[..n];
        let mut pos = put_varint(b, head.len() as u64);
        copy_short(&mut b[pos..pos + head.len()], head);
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
}

/// Bytes a record's key takes: head length, head, tail id.
#[inline]
fn key_len(head: &[u8], tail: u32) -> usize {
    let small = |v: usize| if v < 0x80 { 1 } else { varint_len(v as u64) };
    small(head.len()) + head.len() + small(tail as usize)
}

impl Owners {
    /// Bytes at the start of an `Owners` that operations write; the rest is read only.
    #[cfg(test)]
    pub(crate) const WRITTEN_BYTES: usize = std::mem::offset_of!(Owners, store)
        + std::mem::offset_of!(Store, arena)
        + std::mem::offset_of!(Arena, pages);

    pub(crate) fn new(hasher: Hasher) -> Owners {
        Owners {
            index: hashbrown::HashTable::new(),
            store: Store {
                arena: Arena::new(),
                interned: 0,
                tables: Box::new(Interned {
                    tails: Tails::new(),
                    v6_prefixes: Tails::new(),
                }),
                hasher,
            },
        }
    }

    /// Forgets tails and prefixes no record uses once they outnumber owners twice over, so
    /// the sweep (linear in owners) is paid for by at least as many insertions. Runs before
    /// a record is encoded, never between interning and storing it.
    #[inline]
    fn maybe_sweep(&mut self) {
        if self.store.interned > 2 * self.index.len() + 64 {
            self.sweep_interned();
        }
        let len = self.index.len();
        if len < SPARSE_MAX && self.index.capacity() < SPARSE * (len + 1) {
            self.spread(len);
        }
    }

    /// Grows the index of a shard with few owners to a quarter full at most.
    #[cold]
    fn spread(&mut self, len: usize) {
        let st = &self.store;
        self.index
            .reserve(SPARSE * (len + 1) - len, |&x| st.stored_hash(x));
    }

    #[cold]
    fn sweep_interned(&mut self) {
        let st = &mut self.store;
        let mut tails = vec![false; st.tables.tails.entries.len()];
        let mut prefixes = vec![false; st.tables.v6_prefixes.entries.len()];
        for &h in self.index.iter() {
            let b = st.arena.bytes(h);
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
        st.tables.tails.retain(&tails, &st.hasher);
        st.tables.v6_prefixes.retain(&prefixes, &st.hasher);
        for l in st.arena.lanes.iter_mut() {
            l.recent_tail = Recent::empty();
            l.recent_prefix = (0, NONE);
        }
        st.interned = st.tables.tails.live() + st.tables.v6_prefixes.live();
    }

    /// The record of `owner`, whose hash is `h`; `lane` is the caller's [`lane`].
    pub(crate) fn get(&self, lane: usize, h: u64, owner: &str) -> Option<Record> {
        let (head, tail) = split_key(owner.as_bytes());
        // A tail nobody interned cannot be part of a stored key.
        let tail = self.store.tail_id(lane, tail)?;
        let arena = &self.store.arena;
        let handle = *self
            .index
            .find(h, |&x| Store::is_key(arena, x, head, tail))?;
        let rec = self
            .store
            .decode_payload(arena.bytes(handle), key_len(head, tail));
        Some(rec.0)
    }

    /// The record of `owner` (hash `h`), or its empty slot: one probe for a lookup that
    /// may be followed by an insertion.
    pub(crate) fn entry(&mut self, lane: usize, h: u64, owner: &str) -> Entry<'_> {
        self.maybe_sweep();
        let (head, tail) = split_key(owner.as_bytes());
        let tail = self.store.tail_id_mut(lane, tail);
        let st = &self.store;
        let found = self.index.entry(
            h,
            |&x| tail.is_some_and(|t| Store::is_key(&st.arena, x, head, t)),
            |&x| st.stored_hash(x),
        );
        match found {
            hashbrown::hash_table::Entry::Occupied(e) => {
                let t = tail.unwrap_or(NONE);
                let rec = st.decode_payload(st.arena.bytes(*e.get()), key_len(head, t));
                Entry::Held(rec.0)
            }
            hashbrown::hash_table::Entry::Vacant(slot) => Entry::Vacant(Vacant {
                slot,
                store: &mut self.store,
                lane,
                head_len: head.len(),
                tail_id: tail,
            }),
        }
    }

    /// Adds a record for an owner that has none.
    pub(crate) fn insert(&mut self, lane: usize, h: u64, owner: &str, rec: Record) {
        self.maybe_sweep();
        let (head, tail) = split_key(owner.as_bytes());
        let handle = self.store.encode(lane, head, tail, None, &rec);
        let st = &self.store;
        self.index.insert_unique(h, handle, |&x| st.stored_hash(x));
    }

    /// Removes and returns the record of `owner`.
    pub(crate) fn remove(&mut self, lane: usize, h: u64, owner: &str) -> Option<Record> {
        let (head, tail) = split_key(owner.as_bytes());
        let tail = self.store.tail_id_mut(lane, tail)?;
        let arena = &self.store.arena;
        let entry = self
            .index
            .find_entry(h, |&x| Store::is_key(arena, x, head, tail))
            .ok()?;
        let (handle, _) = entry.remove();
        let st = &mut self.store;
        let (rec, n) = st.decode_payload(st.arena.bytes(handle), key_len(head, tail));
        st.arena.free(lane, handle, n.max(4));
        if st.arena.garbage > COMPACT_MIN && st.arena.garbage > st.arena.live {
            self.compact(lane);
        }
        Some(rec)
    }

    /// Copies live records into fresh pages, dropping free space; handles change in place,
    /// so the index needs no rehash.
    fn compact(&mut self, lane: usize) {
        let old = std::mem::replace(&mut self.store.arena, Arena::new());
        for handle in self.index.iter_mut() {
            let b = old.bytes(*handle);
            let n = record_len(b).max(4);
            let h = self.store.arena.alloc(lane, n);
            self.store.arena.bytes_mut(h)[..n].copy_from_slice(&b[..n]);
            *handle = h;
        }
    }

    /// Every owner and its record.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key<'_>, Record)> {
        self.index.iter().map(|&h| {
            let (key, rec, _) = self.store.decode(h);
            (key, rec)
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
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

/// MACs whose uniqueness one lane's view decides, six bytes each in an open-addressing table.
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
        // Rehashing must use the lookup's hash, or entries move where no probe finds them.
        match self.table.entry(h, |x| *x == m.0, |x| mac_hash(hasher, x)) {
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
            o.insert(i as usize % LANES, h(&k), &k, rec(i));
        }
        // Remove most, so free space outgrows live records and the arena compacts.
        for i in (0..20_000).filter(|i| i % 10 != 0) {
            let k = key(i);
            assert_eq!(o.remove((i as usize + 1) % LANES, h(&k), &k), Some(rec(i)));
        }
        assert!(o.store.arena.garbage <= o.store.arena.live.max(COMPACT_MIN));
        for i in 20_000..25_000 {
            let k = key(i);
            o.insert(i as usize % LANES, h(&k), &k, rec(i));
        }
        for i in 0..25_000 {
            let k = key(i);
            let want = (i >= 20_000 || i % 10 == 0).then(|| rec(i));
            assert_eq!(
                o.get((i as usize + 2) % LANES, h(&k), &k),
                want,
                "owner {k}"
            );
        }
        assert_eq!(o.len(), 2_000 + 5_000);
        assert_eq!(o.iter().count(), o.len());
        assert!(o.iter().all(|(k, r)| {
            let k = k.to_string();
            o.get(0, h(&k), &k) == Some(r)
        }));
        // Every key in this test has a distinct tail; released ones are swept.
        assert!(o.store.tables.tails.live() <= 2 * o.len() + 65);
        assert_eq!(
            o.store.interned,
            o.store.tables.tails.live() + o.store.tables.v6_prefixes.live()
        );
    }

    #[test]
    fn short_byte_helpers() {
        let text = b"pod-0123456789abcdef.ns.x/eth0 and more bytes past thirty-two";
        for a in 0..text.len() {
            for b in a..=text.len() {
                let s = &text[a..b];
                let dot = s.iter().position(|&c| c == b'.').unwrap_or(s.len());
                assert_eq!(find_dot(s), dot, "{:?}", std::str::from_utf8(s));
                let mut out = vec![0u8; s.len()];
                copy_short(&mut out, s);
                assert_eq!(out, s);
                assert!(bytes_eq(s, &out));
                if !s.is_empty() {
                    for i in 0..s.len() {
                        let mut other = out.clone();
                        other[i] ^= 1;
                        assert!(!bytes_eq(s, &other), "differs at {i}");
                    }
                    assert!(!bytes_eq(s, &s[1..]));
                }
            }
        }
    }

    /// The entry API agrees with get/insert/remove, and a dropped vacant slot stores nothing.
    #[test]
    fn entries() {
        let hasher = Hasher::default();
        let mut o = Owners::new(hasher.clone());
        let h = |k: &str| hash_key(&hasher, k.as_bytes());
        for i in 0..3000u32 {
            let k = format!("p{i}.ns{}/eth0", i % 7);
            match o.entry(i as usize % LANES, h(&k), &k) {
                Entry::Held(_) => panic!("{k} is new"),
                Entry::Vacant(v) => {
                    if i % 3 != 0 {
                        v.insert(&k, rec(i));
                    }
                }
            }
        }
        for i in 0..3000u32 {
            let k = format!("p{i}.ns{}/eth0", i % 7);
            let want = (i % 3 != 0).then(|| rec(i));
            assert_eq!(o.get((i as usize + 2) % LANES, h(&k), &k), want);
            match o.entry(i as usize % LANES, h(&k), &k) {
                Entry::Held(r) => assert_eq!(Some(r), want),
                Entry::Vacant(_) => assert_eq!(want, None),
            }
            assert_eq!(o.remove((i as usize + 1) % LANES, h(&k), &k), want);
            assert_eq!(o.get(3, h(&k), &k), None);
        }
        assert_eq!(o.len(), 0);
        // A key whose tail was never interned is absent without a probe.
        assert!(o.get(0, h("x.unseen/eth0"), "x.unseen/eth0").is_none());
        assert!(matches!(
            o.entry(1, h("x.unseen/eth0"), "x.unseen/eth0"),
            Entry::Vacant(_)
        ));
    }

    /// A small shard's index stays at most `1 / SPARSE` full; past `SPARSE_MAX` owners it
    /// only grows as hashbrown grows it, so large allocators pay no memory for sparseness.
    #[test]
    fn small_indexes_stay_sparse() {
        let hasher = Hasher::default();
        let mut o = Owners::new(hasher.clone());
        for i in 0..(4 * SPARSE_MAX) as u32 {
            let k = format!("p{i}.ns{}/eth0", i % 3);
            o.insert(0, hash_key(&hasher, k.as_bytes()), &k, rec(i));
            if o.len() < SPARSE_MAX {
                assert!(o.index.capacity() >= SPARSE * o.len(), "{} owners", o.len());
            }
        }
        let buckets = (o.index.capacity() * 8 / 7).next_power_of_two();
        assert!(buckets <= 2 * (4 * SPARSE_MAX * 8 / 7).next_power_of_two());
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
        // MACs inserted early stay findable after the table grows (rehashes) many times.
        let macs: Vec<MacAddr> = (0..5000u64)
            .map(|i| MacAddr::from_u64(0x0200_0000_0000 + i * 7919))
            .collect();
        for &m in &macs {
            assert!(s.insert(m));
        }
        for &m in &macs {
            assert!(s.contains(m), "{m} lost");
            assert!(!s.insert(m), "{m} inserted twice");
        }
        for &m in &macs {
            s.remove(m);
        }
        assert_eq!(s.table.len(), 0, "removals missed");
    }
}

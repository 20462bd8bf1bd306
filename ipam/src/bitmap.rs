//! The address bitmap: two bits per address in atomic words, claimed with compare-and-swap.
//!
//! Bit `2i` of a word is *in use*, bit `2i+1` is *ever used*; one word covers 32 addresses.
//! Claiming sets both bits in one CAS, releasing clears only *in use*, so a search can prefer
//! addresses that were never handed out. Words live in chunks of 1024 addresses (256 bytes),
//! materialised on first touch: a flat directory for ranges up to 2^30 addresses, a sharded
//! map for larger (IPv6) ranges, so memory grows with allocations, not with the range.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use crate::sync::{AtomicU64, Ordering};

/// Addresses per word.
pub(crate) const WORD_ADDRS: u128 = 32;
/// Words per chunk.
pub(crate) const CHUNK_WORDS: usize = 32;
/// log2 of addresses per chunk.
pub(crate) const CHUNK_SHIFT: u32 = 10;
/// Addresses per chunk.
pub(crate) const CHUNK_ADDRS: u128 = 1 << CHUNK_SHIFT;
/// The *in use* bit of every address in a word.
pub(crate) const LOW: u64 = 0x5555_5555_5555_5555;
/// Ranges with at most this many chunks get a flat directory (8 bytes per chunk slot).
const DENSE_MAX_CHUNKS: u128 = 1 << 20;
const SPARSE_SHARDS: usize = 16;

/// Which addresses a search accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Free and never used.
    Fresh,
    /// Free (used before or not).
    Free,
}

/// Candidate addresses of a word value, as a mask of *in use* bit positions.
#[inline]
pub(crate) fn candidates(w: u64, want: Want, allowed: u64) -> u64 {
    match want {
        Want::Fresh => !(w | (w >> 1)) & LOW & allowed,
        Want::Free => !w & LOW & allowed,
    }
}

/// Claims one address of `word` among `allowed`, preferring slots at or after `from_slot`.
/// Returns the slot and whether it had never been used.
#[inline]
pub(crate) fn claim_in_word(
    word: &AtomicU64,
    want: Want,
    allowed: u64,
    from_slot: u32,
) -> Option<(u32, bool)> {
    let mut cur = word.load(Ordering::Relaxed);
    loop {
        let c = candidates(cur, want, allowed);
        if c == 0 {
            return None;
        }
        let later = c & (u64::MAX << (2 * (from_slot & 31)));
        let bit = if later != 0 { later } else { c }.trailing_zeros();
        let fresh = cur & (2u64 << bit) == 0;
        match word.compare_exchange_weak(
            cur,
            cur | (3u64 << bit),
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => return Some((bit / 2, fresh)),
            Err(actual) => cur = actual,
        }
    }
}

/// Claims exactly `slot`; `None` if it is in use. Returns whether it had never been used.
#[inline]
pub(crate) fn claim_slot(word: &AtomicU64, slot: u32) -> Option<bool> {
    let bit = 2 * slot;
    let mut cur = word.load(Ordering::Relaxed);
    loop {
        if cur & (1u64 << bit) != 0 {
            return None;
        }
        match word.compare_exchange_weak(
            cur,
            cur | (3u64 << bit),
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => return Some(cur & (2u64 << bit) == 0),
            Err(actual) => cur = actual,
        }
    }
}

/// Releases `slot`, keeping its *ever used* bit. Returns whether it was in use.
#[inline]
pub(crate) fn release_slot(word: &AtomicU64, slot: u32) -> bool {
    word.fetch_and(!(1u64 << (2 * slot)), Ordering::AcqRel) & (1u64 << (2 * slot)) != 0
}

/// Undoes a claim that was never handed out: a fresh address becomes fresh again. Only the
/// claimer touches an in-use address, so clearing both bits cannot race with anyone.
#[inline]
pub(crate) fn unclaim_slot(word: &AtomicU64, slot: u32, was_fresh: bool) {
    let mask = if was_fresh { 3u64 } else { 1u64 };
    word.fetch_and(!(mask << (2 * slot)), Ordering::AcqRel);
}

/// 1024 addresses.
pub(crate) struct Chunk {
    pub(crate) words: [AtomicU64; CHUNK_WORDS],
}

impl Chunk {
    fn new() -> Box<Chunk> {
        Box::new(Chunk {
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        })
    }
}

type SparseShard = RwLock<HashMap<u128, Box<Chunk>, foldhash::fast::RandomState>>;

enum Directory {
    Dense(Box<[OnceLock<Box<Chunk>>]>),
    Sparse(Box<[SparseShard]>),
}

/// A bitmap over the offsets `0..=last` of an address range, two bits per address.
///
/// This is the allocator's core, public so benchmarks and embedders can use it bare: it knows
/// nothing about owners, pools or reserved addresses.
pub struct AddressBitmap {
    last: u128,
    dir: Directory,
    /// Set once [`AddressBitmap::claim_next`] found no never-used address, so later calls
    /// skip that pass (ever-used bits are never cleared by a release).
    fresh_exhausted: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for AddressBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressBitmap")
            .field("last", &self.last)
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl AddressBitmap {
    /// A bitmap for offsets `0..=last` (`last = size - 1`, so even 2^128 addresses fit).
    pub fn new(last: u128) -> AddressBitmap {
        let chunks = (last >> CHUNK_SHIFT) + 1;
        let dir = if chunks <= DENSE_MAX_CHUNKS {
            Directory::Dense((0..chunks).map(|_| OnceLock::new()).collect())
        } else {
            Directory::Sparse(
                (0..SPARSE_SHARDS)
                    .map(|_| RwLock::new(HashMap::default()))
                    .collect(),
            )
        };
        AddressBitmap {
            last,
            dir,
            fresh_exhausted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The highest offset.
    pub fn last(&self) -> u128 {
        self.last
    }

    /// Runs `f` on chunk `idx`, creating it if `create`; `None` if absent and not created.
    #[inline]
    pub(crate) fn with_chunk<R>(
        &self,
        idx: u128,
        create: bool,
        f: impl FnOnce(&Chunk) -> R,
    ) -> Option<R> {
        match &self.dir {
            Directory::Dense(slots) => {
                let slot = slots.get(usize::try_from(idx).ok()?)?;
                match slot.get() {
                    Some(c) => Some(f(c)),
                    None if create => Some(f(slot.get_or_init(Chunk::new))),
                    None => None,
                }
            }
            Directory::Sparse(shards) => {
                let shard = &shards[sparse_shard(idx)];
                {
                    let map = shard.read().unwrap_or_else(|e| e.into_inner());
                    if let Some(c) = map.get(&idx) {
                        return Some(f(c));
                    }
                }
                if !create {
                    return None;
                }
                let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
                Some(f(map.entry(idx).or_insert_with(Chunk::new)))
            }
        }
    }

    /// Whether chunk `idx` exists.
    pub(crate) fn is_materialised(&self, idx: u128) -> bool {
        self.with_chunk(idx, false, |_| ()).is_some()
    }

    /// Whether the directory is a sparse map.
    pub(crate) fn is_sparse(&self) -> bool {
        matches!(self.dir, Directory::Sparse(_))
    }

    /// Indexes of materialised chunks, sorted.
    pub(crate) fn materialised(&self) -> Vec<u128> {
        let mut v: Vec<u128> = match &self.dir {
            Directory::Dense(slots) => slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.get().is_some())
                .map(|(i, _)| i as u128)
                .collect(),
            Directory::Sparse(shards) => shards
                .iter()
                .flat_map(|s| {
                    s.read()
                        .unwrap_or_else(|e| e.into_inner())
                        .keys()
                        .copied()
                        .collect::<Vec<_>>()
                })
                .collect(),
        };
        v.sort_unstable();
        v
    }

    /// Bytes used by chunks and directory.
    pub fn bytes(&self) -> usize {
        let chunk = std::mem::size_of::<Chunk>();
        match &self.dir {
            Directory::Dense(slots) => {
                slots.len() * std::mem::size_of::<OnceLock<Box<Chunk>>>()
                    + slots.iter().filter(|s| s.get().is_some()).count() * chunk
            }
            Directory::Sparse(shards) => shards
                .iter()
                .map(|s| {
                    let m = s.read().unwrap_or_else(|e| e.into_inner());
                    m.capacity() * (std::mem::size_of::<(u128, Box<Chunk>)>() + 1) + m.len() * chunk
                })
                .sum(),
        }
    }

    /// Claims `offset`. Returns `Some(was_never_used)` on success, `None` if it is in use or
    /// beyond `last`.
    pub fn claim(&self, offset: u128) -> Option<bool> {
        if offset > self.last {
            return None;
        }
        let (c, w, s) = split(offset);
        self.with_chunk(c, true, |ch| claim_slot(&ch.words[w], s))
            .flatten()
    }

    /// Releases `offset`, keeping its *ever used* mark. Returns whether it was in use.
    pub fn release(&self, offset: u128) -> bool {
        if offset > self.last {
            return false;
        }
        let (c, w, s) = split(offset);
        self.with_chunk(c, false, |ch| release_slot(&ch.words[w], s))
            .unwrap_or(false)
    }

    /// Undoes a claim of `offset` that was never handed out.
    pub(crate) fn unclaim(&self, offset: u128, was_fresh: bool) {
        let (c, w, s) = split(offset);
        self.with_chunk(c, false, |ch| unclaim_slot(&ch.words[w], s, was_fresh));
    }

    /// Sets the *ever used* mark of `offset` without claiming it.
    pub(crate) fn mark_used(&self, offset: u128) {
        let (c, w, s) = split(offset);
        self.with_chunk(c, true, |ch| {
            ch.words[w].fetch_or(2u64 << (2 * s), Ordering::AcqRel)
        });
    }

    /// Whether `offset` is in use.
    pub fn is_claimed(&self, offset: u128) -> bool {
        if offset > self.last {
            return false;
        }
        let (c, w, s) = split(offset);
        self.with_chunk(c, false, |ch| {
            ch.words[w].load(Ordering::Acquire) & (1u64 << (2 * s)) != 0
        })
        .unwrap_or(false)
    }

    /// Whether `offset` was ever claimed.
    pub fn was_used(&self, offset: u128) -> bool {
        if offset > self.last {
            return false;
        }
        let (c, w, s) = split(offset);
        self.with_chunk(c, false, |ch| {
            ch.words[w].load(Ordering::Acquire) & (2u64 << (2 * s)) != 0
        })
        .unwrap_or(false)
    }

    /// Claims a free address at or after `from` (wrapping), never-used addresses first.
    /// Without pools or reserved addresses this is the bare core the allocator builds on.
    pub fn claim_next(&self, from: u128) -> Option<u128> {
        let from = if from > self.last { 0 } else { from };
        for want in [Want::Fresh, Want::Free] {
            let exhausted = &self.fresh_exhausted;
            if want == Want::Fresh && exhausted.load(std::sync::atomic::Ordering::Relaxed) {
                continue;
            }
            let mut off = from;
            let mut scanned: u128 = 0;
            let words = (self.last / WORD_ADDRS) + 1;
            while scanned <= words {
                let (c, w, s) = split(off);
                let word_start = off - u128::from(s);
                let allowed = word_mask(word_start, 0, self.last);
                let got = self
                    .with_chunk(c, true, |ch| claim_in_word(&ch.words[w], want, allowed, s))
                    .flatten();
                if let Some((slot, _)) = got {
                    return Some(word_start + u128::from(slot));
                }
                scanned += 1;
                off = word_start
                    .checked_add(WORD_ADDRS)
                    .filter(|o| *o <= self.last)
                    .unwrap_or(0);
            }
            if want == Want::Fresh {
                exhausted.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        None
    }
}

/// (chunk index, word index in chunk, slot in word) of an offset.
#[inline]
pub(crate) fn split(offset: u128) -> (u128, usize, u32) {
    let c = offset >> CHUNK_SHIFT;
    let in_chunk = (offset & (CHUNK_ADDRS - 1)) as u32;
    (c, (in_chunk / 32) as usize, in_chunk % 32)
}

#[inline]
fn sparse_shard(idx: u128) -> usize {
    let x = (idx as u64) ^ ((idx >> 64) as u64);
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60) as usize % SPARSE_SHARDS
}

/// Mask (*in use* positions) of the slots of the word starting at `word_start` that lie in `lo..=hi`.
#[inline]
pub(crate) fn word_mask(word_start: u128, lo: u128, hi: u128) -> u64 {
    let word_end = word_start + (WORD_ADDRS - 1);
    if hi < word_start || lo > word_end {
        return 0;
    }
    let a = lo.max(word_start) - word_start;
    let b = hi.min(word_end) - word_start;
    let n = b - a + 1;
    let m = if n == 32 {
        LOW
    } else {
        ((1u64 << (2 * n)) - 1) & LOW
    };
    m << (2 * a)
}

/// Mask of the slots of the word at `word_start` inside any of the sorted, disjoint `intervals`.
#[inline]
pub(crate) fn intervals_mask(intervals: &[(u128, u128)], word_start: u128) -> u64 {
    let word_end = word_start + (WORD_ADDRS - 1);
    let mut i = intervals.partition_point(|&(_, hi)| hi < word_start);
    let mut m = 0u64;
    while let Some(&(lo, hi)) = intervals.get(i) {
        if lo > word_end {
            break;
        }
        if lo <= word_start && hi >= word_end {
            return LOW;
        }
        m |= word_mask(word_start, lo, hi);
        i += 1;
    }
    m
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Run with `RUSTFLAGS="--cfg loom" cargo test -p ipam --release --lib loom`.
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Two threads claiming from a word with two free slots never get the same slot, and a
    /// released slot is claimable again.
    #[test]
    fn concurrent_claims_are_unique() {
        loom::model(|| {
            let w = Arc::new(AtomicU64::new(0));
            let allowed = 0b0101;
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let w = w.clone();
                    thread::spawn(move || claim_in_word(&w, Want::Free, allowed, 0))
                })
                .collect();
            let got: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            let a = got[0].expect("slot").0;
            let b = got[1].expect("slot").0;
            assert_ne!(a, b);
            assert_eq!(w.load(Ordering::SeqCst), 0b1111);
            assert!(claim_in_word(&w, Want::Free, allowed, 0).is_none());
        });
    }

    /// A claim racing with a release of another slot and a static claim of a third never
    /// loses a bit and never doubles one.
    #[test]
    fn claim_release_static_race() {
        loom::model(|| {
            // Slot 0 held, slots 1 and 2 free.
            let w = Arc::new(AtomicU64::new(0b11));
            let w1 = w.clone();
            let t1 = thread::spawn(move || claim_in_word(&w1, Want::Free, 0b010101, 0));
            let w2 = w.clone();
            let t2 = thread::spawn(move || {
                assert!(release_slot(&w2, 0));
                claim_slot(&w2, 2)
            });
            let a = t1.join().unwrap();
            let b = t2.join().unwrap();
            let v = w.load(Ordering::SeqCst);
            match (a, b) {
                (Some((sa, _)), Some(_)) => {
                    assert_ne!(sa, 2);
                    assert_eq!(v & LOW, (1 << (2 * sa)) | (1 << 4));
                }
                (Some((sa, _)), None) => {
                    assert_eq!(sa, 2);
                    assert_eq!(v & LOW, 1 << 4);
                }
                other => panic!("unexpected {other:?}"),
            }
            // Slot 0 was released: ever-used stays set.
            assert_ne!(v & 0b10, 0);
        });
    }

    /// Fresh-first claims and an unclaim racing: the undone address is fresh again and no
    /// claim is lost.
    #[test]
    fn fresh_claims_with_unclaim() {
        loom::model(|| {
            let w = Arc::new(AtomicU64::new(0));
            let w1 = w.clone();
            let t1 = thread::spawn(move || {
                let (s, fresh) = claim_in_word(&w1, Want::Fresh, 0b0101, 0).unwrap();
                unclaim_slot(&w1, s, fresh);
                s
            });
            let w2 = w.clone();
            let t2 = thread::spawn(move || claim_in_word(&w2, Want::Fresh, 0b0101, 0));
            let _ = t1.join().unwrap();
            let b = t2.join().unwrap().expect("one fresh slot is always left");
            let v = w.load(Ordering::SeqCst);
            assert_eq!(v, 3 << (2 * b.0));
        });
    }
}

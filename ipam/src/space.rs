//! One family of one subnet: its CIDR as offsets, the reserved addresses, the pools, and the
//! search that claims addresses in the bitmap.
//!
//! Spreading claims: each pool hands out whole chunks (1024 addresses) as *regions*, one per
//! thread slot, from an atomic counter touched once per 1024 fresh claims. A thread claims
//! inside its own region, so two threads write to different cache lines; a shared cursor would
//! make every claim bounce a line between cores.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::bitmap::{
    AddressBitmap, CHUNK_ADDRS, CHUNK_SHIFT, CHUNK_WORDS, LOW, WORD_ADDRS, Want, claim_in_word,
    intervals_mask, split,
};
use crate::owners::thread_slot;
use crate::types::Usage;

/// Inclusive offset interval.
pub(crate) type Interval = (u128, u128);

/// Hints per pool, by [`thread_slot`]: slots go to live threads lowest first, so up to 16
/// live threads each search a region of their own.
const SLOTS: usize = 16;
const NO_REGION: u64 = u64::MAX;

#[repr(align(128))]
struct Hint {
    /// Region ordinal within the pool, or `NO_REGION`.
    region: AtomicU64,
    /// Offset inside the region where the next search starts.
    cursor: AtomicU64,
}

/// A set of allocatable offsets with its own search state.
pub(crate) struct PoolSpace {
    pub(crate) intervals: Vec<Interval>,
    /// (first chunk, last chunk, ordinal of first chunk), merged and sorted.
    spans: Vec<(u128, u128, u128)>,
    n_chunks: u128,
    pub(crate) total: u128,
    next_region: AtomicU64,
    fresh_exhausted: AtomicBool,
    hints: Box<[Hint]>,
}

impl PoolSpace {
    pub(crate) fn new(intervals: Vec<Interval>) -> PoolSpace {
        let mut spans: Vec<(u128, u128, u128)> = Vec::new();
        let mut n: u128 = 0;
        for &(lo, hi) in &intervals {
            let (a, b) = (lo >> CHUNK_SHIFT, hi >> CHUNK_SHIFT);
            match spans.last_mut() {
                Some(last) if last.1 >= a => {
                    if b > last.1 {
                        n += b - last.1;
                        last.1 = b;
                    }
                }
                _ => {
                    spans.push((a, b, n));
                    n += b - a + 1;
                }
            }
        }
        let total = intervals.iter().fold(0u128, |t, &(lo, hi)| {
            t.saturating_add((hi - lo).saturating_add(1))
        });
        PoolSpace {
            intervals,
            spans,
            n_chunks: n,
            total,
            next_region: AtomicU64::new(0),
            fresh_exhausted: AtomicBool::new(false),
            hints: (0..SLOTS)
                .map(|_| Hint {
                    region: AtomicU64::new(NO_REGION),
                    cursor: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    pub(crate) fn contains(&self, off: u128) -> bool {
        let i = self.intervals.partition_point(|&(_, hi)| hi < off);
        self.intervals.get(i).is_some_and(|&(lo, _)| lo <= off)
    }

    fn ord_to_chunk(&self, ord: u128) -> u128 {
        let i = self.spans.partition_point(|&(_, _, o)| o <= ord) - 1;
        let (a, _, o) = self.spans[i];
        a + (ord - o)
    }

    fn chunk_to_ord(&self, chunk: u128) -> u128 {
        let i = self
            .spans
            .partition_point(|&(a, _, _)| a <= chunk)
            .saturating_sub(1);
        let (a, _, o) = self.spans[i];
        o + (chunk - a)
    }

    /// Claims inside chunk `chunk` starting at `start` (an offset inside it), wrapping inside
    /// the chunk when `wrap`.
    fn claim_in_chunk(
        &self,
        bm: &AddressBitmap,
        chunk: u128,
        want: Want,
        start: u128,
        wrap: bool,
    ) -> Option<(u128, bool)> {
        let base = chunk << CHUNK_SHIFT;
        let (_, w0, s0) = split(start);
        let w0 = if start >> CHUNK_SHIFT == chunk { w0 } else { 0 };
        let steps = if wrap {
            CHUNK_WORDS + 1
        } else {
            CHUNK_WORDS - w0
        };
        bm.with_chunk(chunk, true, |ch| {
            for k in 0..steps {
                let w = (w0 + k) % CHUNK_WORDS;
                let from = if k == 0 { s0 } else { 0 };
                let word_start = base + (w as u128) * WORD_ADDRS;
                let v = ch.words[w].load(Ordering::Relaxed);
                // Cheap pre-check before computing the interval mask.
                if crate::bitmap::candidates(v, want, LOW) == 0 {
                    continue;
                }
                let allowed = intervals_mask(&self.intervals, word_start);
                if let Some((slot, fresh)) = claim_in_word(&ch.words[w], want, allowed, from) {
                    return Some((word_start + u128::from(slot), fresh));
                }
            }
            None
        })
        .flatten()
    }

    /// Visits chunks in ordinal order from `start_ord` (wrapping once), claiming the first hit.
    fn sweep(&self, bm: &AddressBitmap, start_ord: u128, want: Want) -> Option<(u128, u128, bool)> {
        if self.n_chunks == 0 {
            return None;
        }
        let start_ord = start_ord % self.n_chunks;
        if bm.is_sparse() && self.n_chunks > (1 << 20) {
            // Only materialised chunks can hold used addresses; the first chunk not
            // materialised is all fresh. Both lists are short compared with the range.
            let mut mats: Vec<u128> = bm
                .materialised()
                .into_iter()
                .filter(|c| self.spans.iter().any(|&(a, b, _)| a <= *c && *c <= b))
                .map(|c| self.chunk_to_ord(c))
                .collect();
            let n = self.n_chunks;
            mats.sort_unstable_by_key(|&o| {
                if o >= start_ord {
                    o - start_ord
                } else {
                    o + (n - start_ord)
                }
            });
            for &ord in &mats {
                let chunk = self.ord_to_chunk(ord);
                if let Some((off, fresh)) =
                    self.claim_in_chunk(bm, chunk, want, chunk << CHUNK_SHIFT, false)
                {
                    return Some((ord, off, fresh));
                }
            }
            for k in 0..=(mats.len() as u128) {
                let ord = (start_ord + k) % self.n_chunks;
                let chunk = self.ord_to_chunk(ord);
                if !bm.is_materialised(chunk) {
                    if let Some((off, fresh)) =
                        self.claim_in_chunk(bm, chunk, want, chunk << CHUNK_SHIFT, false)
                    {
                        return Some((ord, off, fresh));
                    }
                }
            }
            return None;
        }
        for k in 0..self.n_chunks {
            let ord = (start_ord + k) % self.n_chunks;
            let chunk = self.ord_to_chunk(ord);
            if let Some((off, fresh)) =
                self.claim_in_chunk(bm, chunk, want, chunk << CHUNK_SHIFT, false)
            {
                return Some((ord, off, fresh));
            }
        }
        None
    }

    fn set_hint(&self, hint: &Hint, ord: u128, off: u128) {
        hint.region
            .store(u64::try_from(ord).unwrap_or(NO_REGION), Ordering::Relaxed);
        hint.cursor
            .store(((off + 1) & (CHUNK_ADDRS - 1)) as u64, Ordering::Relaxed);
    }

    /// Claims the next free address: this thread's region first, never-used before used.
    pub(crate) fn claim_next(&self, bm: &AddressBitmap) -> Option<(u128, bool)> {
        let hint = &self.hints[thread_slot() % SLOTS];
        if !self.fresh_exhausted.load(Ordering::Relaxed) {
            loop {
                let region = hint.region.load(Ordering::Relaxed);
                if region != NO_REGION && u128::from(region) < self.n_chunks {
                    let ord = u128::from(region);
                    let chunk = self.ord_to_chunk(ord);
                    let start =
                        (chunk << CHUNK_SHIFT) + u128::from(hint.cursor.load(Ordering::Relaxed));
                    if let Some((off, fresh)) =
                        self.claim_in_chunk(bm, chunk, Want::Fresh, start, true)
                    {
                        self.set_hint(hint, ord, off);
                        return Some((off, fresh));
                    }
                }
                let ord = u128::from(self.next_region.fetch_add(1, Ordering::Relaxed));
                if ord < self.n_chunks {
                    hint.region.store(ord as u64, Ordering::Relaxed);
                    hint.cursor.store(0, Ordering::Relaxed);
                    continue;
                }
                let from = if region == NO_REGION {
                    0
                } else {
                    u128::from(region)
                };
                if let Some((ord, off, fresh)) = self.sweep(bm, from, Want::Fresh) {
                    self.set_hint(hint, ord, off);
                    return Some((off, fresh));
                }
                self.fresh_exhausted.store(true, Ordering::Relaxed);
                break;
            }
        }
        let region = hint.region.load(Ordering::Relaxed);
        let from = if region != NO_REGION && u128::from(region) < self.n_chunks {
            let ord = u128::from(region);
            let chunk = self.ord_to_chunk(ord);
            let start = (chunk << CHUNK_SHIFT) + u128::from(hint.cursor.load(Ordering::Relaxed));
            if let Some((off, fresh)) = self.claim_in_chunk(bm, chunk, Want::Free, start, true) {
                self.set_hint(hint, ord, off);
                return Some((off, fresh));
            }
            ord + 1
        } else {
            0
        };
        let (ord, off, fresh) = self.sweep(bm, from, Want::Free)?;
        self.set_hint(hint, ord, off);
        Some((off, fresh))
    }

    /// Claims a random free address, never-used before used.
    pub(crate) fn claim_random(&self, bm: &AddressBitmap) -> Option<(u128, bool)> {
        if self.n_chunks == 0 {
            return None;
        }
        let ord = fastrand::u128(..self.n_chunks);
        let chunk = self.ord_to_chunk(ord);
        let start = (chunk << CHUNK_SHIFT) + fastrand::u128(..CHUNK_ADDRS);
        for want in [Want::Fresh, Want::Free] {
            if want == Want::Fresh && self.fresh_exhausted.load(Ordering::Relaxed) {
                continue;
            }
            if let Some(r) = self.claim_in_chunk(bm, chunk, want, start, true) {
                return Some(r);
            }
            if let Some((_, off, fresh)) = self.sweep(bm, ord + 1, want) {
                return Some((off, fresh));
            }
        }
        None
    }

    /// Exact usage: *in use* bits inside the pool's intervals.
    pub(crate) fn usage(&self, bm: &AddressBitmap) -> Usage {
        let mut used: u128 = 0;
        let count_chunk = |chunk: u128, used: &mut u128| {
            bm.with_chunk(chunk, false, |ch| {
                for (w, word) in ch.words.iter().enumerate() {
                    let v = word.load(Ordering::Acquire) & LOW;
                    if v == 0 {
                        continue;
                    }
                    let word_start = (chunk << CHUNK_SHIFT) + (w as u128) * WORD_ADDRS;
                    *used +=
                        u128::from((v & intervals_mask(&self.intervals, word_start)).count_ones());
                }
            });
        };
        let per_span: u128 = self
            .spans
            .iter()
            .map(|&(a, b, _)| b - a + 1)
            .fold(0, u128::saturating_add);
        if bm.is_sparse() && per_span > (1 << 20) {
            for c in bm.materialised() {
                if self.spans.iter().any(|&(a, b, _)| a <= c && c <= b) {
                    count_chunk(c, &mut used);
                }
            }
        } else {
            for &(a, b, _) in &self.spans {
                let mut c = a;
                loop {
                    count_chunk(c, &mut used);
                    if c == b {
                        break;
                    }
                    c += 1;
                }
            }
        }
        Usage {
            total: self.total,
            used,
            available: self.total - used.min(self.total),
        }
    }
}

/// Set difference of sorted, disjoint interval lists.
pub(crate) fn subtract(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(lo, hi) in a {
        let mut cur = lo;
        let mut open = true;
        while j < b.len() && b[j].1 < cur {
            j += 1;
        }
        let mut k = j;
        while open && k < b.len() && b[k].0 <= hi {
            let (blo, bhi) = b[k];
            if blo > cur {
                out.push((cur, blo - 1));
            }
            if bhi >= hi {
                open = false;
            } else {
                cur = cur.max(bhi + 1);
            }
            k += 1;
        }
        if open {
            out.push((cur, hi));
        }
    }
    out
}

/// Intersection of sorted, disjoint interval lists.
pub(crate) fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Sorts and merges overlapping or adjacent intervals.
pub(crate) fn normalise(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_algebra() {
        let a = vec![(0, 100)];
        let b = normalise(vec![(10, 20), (21, 30), (50, 50), (90, 200)]);
        assert_eq!(b, vec![(10, 30), (50, 50), (90, 200)]);
        assert_eq!(subtract(&a, &b), vec![(0, 9), (31, 49), (51, 89)]);
        assert_eq!(intersect(&a, &b), vec![(10, 30), (50, 50), (90, 100)]);
        assert_eq!(subtract(&[(5, 5)], &[(5, 5)]), vec![]);
        assert_eq!(subtract(&[(0, u128::MAX)], &[(0, 0)]), vec![(1, u128::MAX)]);
    }

    #[test]
    fn pool_spans_and_ordinals() {
        let p = PoolSpace::new(vec![(1, 5), (1000, 3000), (5000, 5000)]);
        // chunks 0..=2 and 4
        assert_eq!(p.n_chunks, 4);
        assert_eq!(p.ord_to_chunk(3), 4);
        assert_eq!(p.chunk_to_ord(4), 3);
        assert_eq!(p.total, 5 + 2001 + 1);
        assert!(p.contains(5000) && !p.contains(6) && p.contains(1000));
    }

    #[test]
    fn next_claims_every_address_once_then_exhausts() {
        let p = PoolSpace::new(vec![(1, 2500), (2600, 2600)]);
        let bm = AddressBitmap::new(4095);
        let mut seen = std::collections::HashSet::new();
        while let Some((off, fresh)) = p.claim_next(&bm) {
            assert!(fresh);
            assert!(p.contains(off));
            assert!(seen.insert(off));
        }
        assert_eq!(seen.len(), 2501);
        assert_eq!(p.usage(&bm).used, 2501);
        // Released ones come back, used ones only after fresh ones are gone.
        assert!(bm.release(7));
        assert_eq!(p.claim_next(&bm), Some((7, false)));
    }
}

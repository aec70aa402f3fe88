//! Prompt-cache emulation (provider-facts.md, "Prompt caching").
//!
//! OpenAI: automatic prefix caching. The prompt is a token sequence; every prefix whose
//! length is a multiple of 128 from 1024 on is a cache entry. A request reads the longest
//! stored prefix (`cached_tokens`, a subset of `prompt_tokens`) and stores all of its own.
//!
//! Anthropic: explicit breakpoints. The prompt is a sequence of blocks (tools, system,
//! messages); a breakpoint stores the prefix up to and including its block, when that prefix
//! is at least the model's minimum. A request reads the longest stored prefix ending at a block
//! boundary at or before a breakpoint (looking back at most 20 blocks from each), and writes
//! the prefix up to its last eligible breakpoint: `cache_creation_input_tokens` = that prefix
//! minus what was read, split by the TTL of the breakpoint that closes each segment;
//! `input_tokens` is the rest. A hit refreshes the entry's lifetime.

use burnrate_sim::CacheTtl;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// FNV-1a style 64-bit step, used to chain prefix hashes.
pub fn mix(h: u64, x: u64) -> u64 {
    let mut h = h ^ x;
    h = h.wrapping_mul(0x0100_0000_01b3);
    h ^= h >> 29;
    h.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

pub const SEED_HASH: u64 = 0xcbf2_9ce4_8422_2325;

/// Hash of a string, chainable with [`mix`].
pub fn hash_str(h: u64, s: &str) -> u64 {
    let mut h = mix(h, s.len() as u64);
    for chunk in s.as_bytes().chunks(8) {
        let mut buf = [0u8; 8];
        buf[..chunk.len()].copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(buf));
    }
    h
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    expires: Instant,
    ttl: Duration,
    /// Readable from this instant: when the response that wrote it began (its first token).
    /// Requests before it miss and write again (Anthropic: "wait for the first response
    /// before sending parallel requests").
    ready: Instant,
}

/// When a request's writes become readable: `Some(first token)`, or `None` for a request
/// whose response never begins (a timeout): its writes stay unreadable until another
/// request writes the same prefix.
pub type Ready = Option<Instant>;

fn ready_at(ready: Ready, now: Instant) -> Instant {
    // "Never": far enough for any entry's lifetime (a day's TTL, refreshed).
    ready.unwrap_or_else(|| {
        now.checked_add(Duration::from_secs(10 * 365 * 86_400))
            .unwrap_or(now)
    })
}

/// What an OpenAI request asks of the cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenAiBreakpoints {
    /// The implicit breakpoint (the prompt's last 128-token step): every model before
    /// GPT-5.6, and `prompt_cache_options.mode = "implicit"` (the default) after.
    pub implicit: bool,
    /// Prompt lengths (tokens) at the end of each content block marked
    /// `prompt_cache_breakpoint` (GPT-5.6+), in prompt order; not rounded to a step.
    pub explicit: Vec<u64>,
}

/// Result of the OpenAI cache for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenAiCache {
    /// `cached_tokens`.
    pub read: u64,
    /// Tokens written beyond what was read (`cache_write_tokens` on GPT-5.6+).
    pub write: u64,
    /// The writes are 24-hour ones (`prompt_cache_retention: "24h"` on GPT-5.6+), billed at
    /// the model's 24-hour write price; otherwise 30-minute ones.
    pub day: bool,
}

/// Explicit breakpoints a request writes besides the implicit one (4 in explicit mode).
const OPENAI_WRITES: usize = 4;
/// Breakpoints considered for matching (OpenAI: "up to the latest 80").
const OPENAI_MATCH: usize = 80;

const SHARDS: usize = 16;
const MAX_ENTRIES_PER_SHARD: usize = 200_000;

/// Result of the Anthropic cache for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnthropicCache {
    pub read: u64,
    pub write_5m: u64,
    pub write_1h: u64,
}

/// The indices of the blocks carrying a breakpoint.
fn breakpoints(blocks: &[Block]) -> Vec<usize> {
    blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.breakpoint.is_some())
        .map(|(i, _)| i)
        .collect()
}

/// Anthropic's read: the longest stored prefix at a boundary within 20 blocks before a
/// breakpoint (`bps`), `hit` telling whether a prefix hash is readable.
fn anthropic_read(blocks: &[Block], bps: &[usize], mut hit: impl FnMut(u64) -> bool) -> u64 {
    for &bp in bps.iter().rev() {
        let lo = bp.saturating_sub(20);
        for i in (lo..=bp).rev() {
            if blocks[i].cum_tokens == 0 {
                break;
            }
            if hit(blocks[i].cum_hash) {
                return blocks[i].cum_tokens;
            }
        }
    }
    0
}

/// A block of an Anthropic prompt: cumulative tokens and hash after it, and its breakpoint.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    pub cum_tokens: u64,
    pub cum_hash: u64,
    pub breakpoint: Option<CacheTtl>,
}

/// The cache of every model and key.
#[derive(Debug)]
pub struct PromptCache {
    shards: Vec<Mutex<HashMap<u64, Entry>>>,
}

impl Default for PromptCache {
    fn default() -> Self {
        PromptCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl PromptCache {
    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        let mut guard = self.shards[(key >> 58) as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if guard.len() >= MAX_ENTRIES_PER_SHARD {
            let now = Instant::now();
            guard.retain(|_, e| e.expires > now);
            if guard.len() >= MAX_ENTRIES_PER_SHARD {
                guard.clear();
            }
        }
        guard
    }

    /// Looks up `key`: on a hit (live and readable) refreshes it and returns true. An entry
    /// still being written is a miss but stays.
    fn hit(&self, key: u64, now: Instant) -> bool {
        let mut s = self.shard(key);
        match s.get_mut(&key) {
            Some(e) if e.expires > now && e.ready <= now => {
                e.expires = now + e.ttl;
                true
            }
            Some(e) if e.expires > now => false,
            Some(_) => {
                s.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Writes `key`; it becomes readable at the earliest `ready` of the live writers.
    fn store(&self, key: u64, ttl: Duration, now: Instant, ready: Ready) {
        let ready = ready_at(ready, now);
        let mut s = self.shard(key);
        let fresh = Entry {
            expires: now + ttl,
            ttl,
            ready,
        };
        let e = s.entry(key).or_insert(fresh);
        if e.expires <= now {
            *e = fresh;
        }
        if e.ttl < ttl {
            e.ttl = ttl;
        }
        e.ready = e.ready.min(ready);
        e.expires = e.expires.max(now + e.ttl);
    }

    /// OpenAI prefix caching over `tokens` (the whole prompt as token ids). `scope` separates
    /// models, keys and `prompt_cache_key`s. Reads the longest stored prefix among the
    /// 128-token steps from `min` (implicit mode) and the latest 80 explicit breakpoints;
    /// writes the implicit breakpoint and the latest three explicit ones (four in explicit
    /// mode; none at all: nothing is cached). Every step boundary of an implicit request is
    /// stored, so a later prompt sharing only part of the prefix still hits in 128-token steps.
    #[allow(
        clippy::too_many_arguments,
        reason = "OpenAI's caching rule has this many independent inputs (scope, prompt, minimum, step, TTL, clock, readiness, breakpoints); one caller"
    )]
    pub fn openai(
        &self,
        scope: u64,
        tokens: &[u32],
        min: u64,
        step: u64,
        ttl: Duration,
        now: Instant,
        ready: Ready,
        bps: &OpenAiBreakpoints,
    ) -> OpenAiCache {
        let n = tokens.len() as u64;
        if n < min || step == 0 {
            return OpenAiCache::default();
        }
        let explicit: Vec<u64> = bps
            .explicit
            .iter()
            .copied()
            .filter(|&p| p >= min && p <= n && p > 0)
            .collect();
        let mut positions: Vec<u64> = Vec::new();
        if bps.implicit {
            positions.extend((0..=(n - min) / step).map(|i| min + i * step));
        }
        let matchable = &explicit[explicit.len().saturating_sub(OPENAI_MATCH)..];
        positions.extend_from_slice(matchable);
        positions.sort_unstable();
        positions.dedup();
        if positions.is_empty() {
            return OpenAiCache::default();
        }
        let mut keys = Vec::with_capacity(positions.len());
        let mut h = scope;
        let mut next = positions.iter().peekable();
        for (i, &t) in tokens.iter().enumerate() {
            h = mix(h, u64::from(t));
            while next.peek().is_some_and(|&&p| p == i as u64 + 1) {
                keys.push((*next.next().unwrap_or(&0), h));
            }
        }
        let key_of = |p: u64| keys.iter().find(|(q, _)| *q == p).map(|(_, k)| *k);
        let mut read = 0;
        for &(len, key) in keys.iter().rev() {
            if self.hit(key, now) {
                read = len;
                break;
            }
        }
        // What this request writes: the implicit breakpoint (all its steps) and the latest
        // explicit ones.
        let keep = if bps.implicit {
            OPENAI_WRITES - 1
        } else {
            OPENAI_WRITES
        };
        let mut written: Vec<u64> = explicit[explicit.len().saturating_sub(keep)..].to_vec();
        if bps.implicit {
            written.extend(
                positions
                    .iter()
                    .copied()
                    .filter(|p| (p - min).is_multiple_of(step)),
            );
        }
        let mut furthest = 0;
        for p in written {
            if let Some(key) = key_of(p) {
                self.store(key, ttl, now, ready);
                furthest = furthest.max(p);
            }
        }
        OpenAiCache {
            read,
            write: furthest.saturating_sub(read),
            // The caller, which knows the request's retention, marks 24-hour writes.
            day: false,
        }
    }

    /// Anthropic breakpoint caching. Block hashes must already include `scope`.
    pub fn anthropic(
        &self,
        blocks: &[Block],
        min: u64,
        now: Instant,
        ready: Ready,
    ) -> AnthropicCache {
        let bps = breakpoints(blocks);
        if bps.is_empty() {
            return AnthropicCache::default();
        }
        let read = anthropic_read(blocks, &bps, |key| self.hit(key, now));
        // Write: each eligible breakpoint beyond what was read.
        let mut out = AnthropicCache {
            read,
            ..AnthropicCache::default()
        };
        let mut covered = read;
        for &bp in &bps {
            let b = blocks[bp];
            let Some(ttl) = b.breakpoint else { continue };
            if b.cum_tokens < min || b.cum_tokens <= covered {
                continue;
            }
            let seg = b.cum_tokens - covered;
            match ttl {
                CacheTtl::FiveMinutes => out.write_5m += seg,
                // Anthropic offers 5m and 1h only (`ttl_of` rejects the others).
                _ => out.write_1h += seg,
            }
            covered = b.cum_tokens;
            self.store(
                b.cum_hash,
                Duration::from_secs_f64(ttl.seconds()),
                now,
                ready,
            );
        }
        out
    }

    /// The tokens an Anthropic request would read from the cache now, changing nothing
    /// (what the rate limiter counts before the request is admitted).
    pub fn anthropic_peek(&self, blocks: &[Block], now: Instant) -> u64 {
        let bps = breakpoints(blocks);
        anthropic_read(blocks, &bps, |key| {
            self.shard(key)
                .get(&key)
                .is_some_and(|e| e.expires > now && e.ready <= now)
        })
    }

    pub fn clear(&self) {
        for s in &self.shards {
            s.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CachedContent {
    pub(crate) name: String,
    /// Catalog id.
    pub(crate) model: String,
    pub(crate) key: String,
    pub(crate) tokens: u64,
    pub(crate) display_name: Option<String>,
    pub(crate) created: SystemTime,
    pub(crate) updated: SystemTime,
    pub(crate) expires: SystemTime,
}

/// The live explicit caches of the server (Gemini `cachedContents`, handled in
/// `gemini/caches.rs`): kept here, below the handlers, because `AppState` owns them.
#[derive(Debug, Default)]
pub struct CachedContents(Mutex<HashMap<String, CachedContent>>);

impl CachedContents {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedContent>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The live cache `name` of `key` (expired ones are dropped).
    pub(crate) fn get(&self, name: &str, key: &str) -> Option<CachedContent> {
        let mut m = self.lock();
        let now = SystemTime::now();
        m.retain(|_, c| c.expires > now);
        m.get(name).filter(|c| c.key == key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(sizes: &[(u64, Option<CacheTtl>)], salt: u64) -> Vec<Block> {
        let mut cum = 0;
        let mut h = SEED_HASH;
        sizes
            .iter()
            .enumerate()
            .map(|(i, &(n, bp))| {
                cum += n;
                h = mix(h, if i == sizes.len() - 1 { salt } else { i as u64 });
                Block {
                    cum_tokens: cum,
                    cum_hash: h,
                    breakpoint: bp,
                }
            })
            .collect()
    }

    fn implicit() -> OpenAiBreakpoints {
        OpenAiBreakpoints {
            implicit: true,
            explicit: Vec::new(),
        }
    }

    #[test]
    fn openai_explicit_breakpoints_are_exact_and_explicit_mode_needs_one() {
        let c = PromptCache::default();
        let now = Instant::now();
        let ttl = Duration::from_secs(1800);
        let prompt: Vec<u32> = (0..3000).collect();
        let explicit = |e: Vec<u64>| OpenAiBreakpoints {
            implicit: false,
            explicit: e,
        };
        // Explicit mode without a breakpoint caches nothing, read or write.
        let none = c.openai(
            1,
            &prompt,
            1024,
            128,
            ttl,
            now,
            Some(now),
            &explicit(vec![]),
        );
        assert_eq!(none, OpenAiCache::default());
        // An explicit breakpoint at 2001 (not a 128 step) writes exactly 2001 tokens...
        let w = c.openai(
            1,
            &prompt,
            1024,
            128,
            ttl,
            now,
            Some(now),
            &explicit(vec![2001]),
        );
        assert_eq!(
            w,
            OpenAiCache {
                read: 0,
                write: 2001,
                day: false,
            }
        );
        // ... which the next request reads exactly; implicit mode then writes up to its last
        // step (2944) beyond it.
        let r = c.openai(
            1,
            &prompt,
            1024,
            128,
            ttl,
            now,
            Some(now),
            &OpenAiBreakpoints {
                implicit: true,
                explicit: vec![2001],
            },
        );
        assert_eq!(
            r,
            OpenAiCache {
                read: 2001,
                write: 2944 - 2001,
                day: false,
            }
        );
        // In implicit mode only the latest three explicit breakpoints are written.
        let c = PromptCache::default();
        let five = OpenAiBreakpoints {
            implicit: true,
            explicit: vec![1100, 1200, 1300, 1400, 1500],
        };
        let short: Vec<u32> = (0..1500).collect();
        let w = c.openai(1, &short, 1024, 128, ttl, now, Some(now), &five);
        assert_eq!(w.write, 1500);
        let probe = |e: u64| {
            c.openai(
                1,
                &short[..e as usize],
                1024,
                128,
                ttl,
                now,
                Some(now),
                &explicit(vec![e]),
            )
            .read
        };
        assert_eq!((probe(1100), probe(1200), probe(1300)), (0, 0, 1300));
    }

    #[test]
    fn an_entry_is_readable_once_its_writer_began() {
        let c = PromptCache::default();
        let now = Instant::now();
        let ttl = Duration::from_secs(600);
        let prompt: Vec<u32> = (0..1300).collect();
        let first_token = now + Duration::from_secs(2);
        let a = c.openai(
            1,
            &prompt,
            1024,
            128,
            ttl,
            now,
            Some(first_token),
            &implicit(),
        );
        assert_eq!(
            a,
            OpenAiCache {
                read: 0,
                write: 1280,
                day: false,
            }
        );
        // A request arriving while the first is still before its first token writes again.
        let t1 = now + Duration::from_secs(1);
        let b = c.openai(
            1,
            &prompt,
            1024,
            128,
            ttl,
            t1,
            Some(t1 + Duration::from_secs(2)),
            &implicit(),
        );
        assert_eq!(
            b,
            OpenAiCache {
                read: 0,
                write: 1280,
                day: false,
            }
        );
        // Once the first response began, it reads.
        let t2 = now + Duration::from_secs(2);
        let r = c.openai(1, &prompt, 1024, 128, ttl, t2, Some(t2), &implicit());
        assert_eq!(r.read, 1280);
        // A write whose response never begins (a timeout) is never readable by itself.
        let five = Some(CacheTtl::FiveMinutes);
        let b = blocks(&[(2000, five), (10, None)], 3);
        assert_eq!(c.anthropic(&b, 1024, now, None).write_5m, 2000);
        let later = now + Duration::from_secs(60);
        assert_eq!(c.anthropic(&b, 1024, later, Some(later)).write_5m, 2000);
        assert_eq!(c.anthropic(&b, 1024, later, Some(later)).read, 2000);
    }

    #[test]
    fn openai_steps_of_128_from_1024() {
        let c = PromptCache::default();
        let now = Instant::now();
        let ttl = Duration::from_secs(600);
        let read = |scope: u64, prompt: &[u32]| {
            c.openai(scope, prompt, 1024, 128, ttl, now, Some(now), &implicit())
                .read
        };
        let prompt: Vec<u32> = (0..1300).collect();
        assert_eq!(read(1, &prompt), 0);
        assert_eq!(read(1, &prompt), 1280);
        // A different tail after 1100 tokens: the 1024 prefix still hits.
        let mut other = prompt.clone();
        other[1100] = 99_999;
        assert_eq!(read(1, &other), 1024);
        // Below the minimum nothing is cached.
        let short: Vec<u32> = (0..1023).collect();
        assert_eq!(read(1, &short), 0);
        assert_eq!(read(1, &short), 0);
        // Another scope does not see it.
        assert_eq!(read(2, &prompt), 0);
    }

    #[test]
    fn anthropic_breakpoints_ttl_split_and_minimum() {
        let c = PromptCache::default();
        let now = Instant::now();
        let five = Some(CacheTtl::FiveMinutes);
        let hour = Some(CacheTtl::OneHour);
        // tools 600 (1h bp), system 900 (5m bp), user 50.
        let b = blocks(&[(600, hour), (900, five), (50, None)], 7);
        let first = c.anthropic(&b, 1024, now, Some(now));
        // The 1h breakpoint at 600 is below the minimum: all 1500 are written at 5m.
        assert_eq!(
            first,
            AnthropicCache {
                read: 0,
                write_5m: 1500,
                write_1h: 0
            }
        );
        let b2 = blocks(&[(600, hour), (900, five), (70, None)], 8);
        let second = c.anthropic(&b2, 1024, now, Some(now));
        assert_eq!(
            second,
            AnthropicCache {
                read: 1500,
                write_5m: 0,
                write_1h: 0
            }
        );
        // Expiry after 5 minutes without a hit.
        let later = now + Duration::from_secs(301);
        assert_eq!(c.anthropic(&b2, 1024, later, Some(later)).read, 0);
    }

    #[test]
    fn anthropic_split_by_ttl() {
        let c = PromptCache::default();
        let now = Instant::now();
        let b = blocks(
            &[
                (2000, Some(CacheTtl::OneHour)),
                (500, Some(CacheTtl::FiveMinutes)),
                (10, None),
            ],
            1,
        );
        assert_eq!(
            c.anthropic(&b, 1024, now, Some(now)),
            AnthropicCache {
                read: 0,
                write_5m: 500,
                write_1h: 2000
            }
        );
        // After 6 minutes the 5m entry is gone, the 1h one hits and the 5m part is rewritten.
        let t = now + Duration::from_secs(360);
        assert_eq!(
            c.anthropic(&b, 1024, t, Some(t)),
            AnthropicCache {
                read: 2000,
                write_5m: 500,
                write_1h: 0
            }
        );
    }
}

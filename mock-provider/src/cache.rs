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
use std::time::{Duration, Instant};

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
}

const SHARDS: usize = 16;
const MAX_ENTRIES_PER_SHARD: usize = 200_000;

/// Result of the Anthropic cache for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnthropicCache {
    pub read: u64,
    pub write_5m: u64,
    pub write_1h: u64,
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

    /// Looks up `key`: on a hit refreshes it and returns true.
    fn hit(&self, key: u64, now: Instant) -> bool {
        let mut s = self.shard(key);
        match s.get_mut(&key) {
            Some(e) if e.expires > now => {
                e.expires = now + e.ttl;
                true
            }
            Some(_) => {
                s.remove(&key);
                false
            }
            None => false,
        }
    }

    fn store(&self, key: u64, ttl: Duration, now: Instant) {
        let mut s = self.shard(key);
        let e = s.entry(key).or_insert(Entry {
            expires: now + ttl,
            ttl,
        });
        if e.ttl < ttl {
            e.ttl = ttl;
        }
        e.expires = e.expires.max(now + e.ttl);
    }

    /// OpenAI prefix caching over `tokens` (the whole prompt as token ids); returns
    /// `cached_tokens`. `scope` separates models, keys and `prompt_cache_key`s.
    pub fn openai(
        &self,
        scope: u64,
        tokens: &[u32],
        min: u64,
        step: u64,
        ttl: Duration,
        now: Instant,
    ) -> u64 {
        let n = tokens.len() as u64;
        if n < min || step == 0 {
            return 0;
        }
        let mut boundaries = Vec::with_capacity(((n - min) / step + 1) as usize);
        let mut h = scope;
        let mut next = min;
        for (i, &t) in tokens.iter().enumerate() {
            h = mix(h, u64::from(t));
            if (i as u64 + 1) == next {
                boundaries.push((next, h));
                next += step;
            }
        }
        let mut cached = 0;
        for &(len, key) in boundaries.iter().rev() {
            if self.hit(key, now) {
                cached = len;
                break;
            }
        }
        for &(_, key) in &boundaries {
            self.store(key, ttl, now);
        }
        cached
    }

    /// Anthropic breakpoint caching. Block hashes must already include `scope`.
    pub fn anthropic(&self, blocks: &[Block], min: u64, now: Instant) -> AnthropicCache {
        let bps: Vec<usize> = blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.breakpoint.is_some())
            .map(|(i, _)| i)
            .collect();
        if bps.is_empty() {
            return AnthropicCache::default();
        }
        // Read: the longest stored prefix at a boundary within 20 blocks before a breakpoint.
        let mut read = 0u64;
        'outer: for &bp in bps.iter().rev() {
            let lo = bp.saturating_sub(20);
            for i in (lo..=bp).rev() {
                if blocks[i].cum_tokens <= read {
                    break;
                }
                if self.hit(blocks[i].cum_hash, now) {
                    read = blocks[i].cum_tokens;
                    break 'outer;
                }
            }
        }
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
            self.store(b.cum_hash, Duration::from_secs_f64(ttl.seconds()), now);
        }
        out
    }

    pub fn clear(&self) {
        for s in &self.shards {
            s.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
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

    #[test]
    fn openai_steps_of_128_from_1024() {
        let c = PromptCache::default();
        let now = Instant::now();
        let ttl = Duration::from_secs(600);
        let prompt: Vec<u32> = (0..1300).collect();
        assert_eq!(c.openai(1, &prompt, 1024, 128, ttl, now), 0);
        assert_eq!(c.openai(1, &prompt, 1024, 128, ttl, now), 1280);
        // A different tail after 1100 tokens: the 1024 prefix still hits.
        let mut other = prompt.clone();
        other[1100] = 99_999;
        assert_eq!(c.openai(1, &other, 1024, 128, ttl, now), 1024);
        // Below the minimum nothing is cached.
        let short: Vec<u32> = (0..1023).collect();
        assert_eq!(c.openai(1, &short, 1024, 128, ttl, now), 0);
        assert_eq!(c.openai(1, &short, 1024, 128, ttl, now), 0);
        // Another scope does not see it.
        assert_eq!(c.openai(2, &prompt, 1024, 128, ttl, now), 0);
    }

    #[test]
    fn anthropic_breakpoints_ttl_split_and_minimum() {
        let c = PromptCache::default();
        let now = Instant::now();
        let five = Some(CacheTtl::FiveMinutes);
        let hour = Some(CacheTtl::OneHour);
        // tools 600 (1h bp), system 900 (5m bp), user 50.
        let b = blocks(&[(600, hour), (900, five), (50, None)], 7);
        let first = c.anthropic(&b, 1024, now);
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
        let second = c.anthropic(&b2, 1024, now);
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
        assert_eq!(c.anthropic(&b2, 1024, later).read, 0);
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
            c.anthropic(&b, 1024, now),
            AnthropicCache {
                read: 0,
                write_5m: 500,
                write_1h: 2000
            }
        );
        // After 6 minutes the 5m entry is gone, the 1h one hits and the 5m part is rewritten.
        let t = now + Duration::from_secs(360);
        assert_eq!(
            c.anthropic(&b, 1024, t),
            AnthropicCache {
                read: 2000,
                write_5m: 500,
                write_1h: 0
            }
        );
    }
}

"""The article's support agent (scenarios/support-agent.toml) without time, vectorised with
numpy: the fastest a Python tool gets on this model, the per-core peer of the engine in
docs/performance.md. Same steps, lognormal token counts, failure mix, retries (content
failures grow the body, transport failures cost nothing) and prices as bench/simpy_support.py;
what it leaves out is the clock: a call hits the 5-minute cache with the closed-form
probability 1 - exp(-lambda(hour) * TTL) of its arrival hour instead of a simulated cache,
and there is no backoff, latency or queue. So it does strictly less work per task than the
engine. Prints tasks/s on one thread.

Run: `python bench/numpy_support.py DAYS REPLICAS` (bench/run.sh runs it in a venv).
"""
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

PROFILE = np.array([0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 1.0, 1.6, 1.8, 1.8, 1.7, 1.5, 1.7, 1.8,
                    1.7, 1.5, 1.2, 0.9, 0.6, 0.5, 0.4, 0.3, 0.2])
PROFILE = PROFILE / PROFILE.mean()
HAIKU = dict(inp=0.25, out=1.25, write=0.30, read=0.03, min_cache=2048)
SONNET = dict(inp=3.0, out=15.0, write=3.75, read=0.30, min_cache=1024)
# model, prefix, input mean/cv, output mean/cv, max_tokens, accumulate
STEPS = [
    (HAIKU, 500, (300, 0.5), (50, 0.3), 100, False),
    (HAIKU, 400, (800, 0.5), (200, 0.4), None, False),
    (SONNET, 1500, (1000, 0.5), (400, 0.5), 800, True),
    (HAIKU, 1000, (500, 0.4), (100, 0.3), None, False),
]
CONTENT = 0.05 + 0.01
TRANSPORT = 0.015 + 0.005
ATTEMPTS = 4  # max_retries = 3
TTL_S = 300.0
TASKS_PER_DAY = 300
# Tasks per vector: large enough that numpy's per-call overhead vanishes, small enough for cache.
CHUNK = 1 << 18


def lognormal(rng, mean, cv, shape):
    s2 = math.log(1 + cv * cv)
    return rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), shape)


def tasks(rng, n):
    """Cost (USD) of `n` tasks, all drawn at once (the vectors are what makes numpy fast)."""
    hour = rng.choice(24, size=n, p=PROFILE / PROFILE.sum())
    p_hit = 1.0 - np.exp(-TASKS_PER_DAY / 86400.0 * PROFILE[hour] * TTL_S)
    alive = np.ones(n, dtype=bool)
    context = np.zeros(n)
    cost = np.zeros(n)
    for m, prefix, (im, icv), (om, ocv), cap, acc in STEPS:
        body = np.rint(lognormal(rng, im, icv, n)) + (context if acc else 0.0)
        out = np.rint(lognormal(rng, om, ocv, (ATTEMPTS, n)))
        if cap:
            np.minimum(out, cap, out=out)
        u = rng.random((ATTEMPTS, n))
        ok = u >= CONTENT + TRANSPORT
        # Content failures and successes are billed; transport failures are not.
        billed = (u < CONTENT) | ok
        # Attempts made: up to and including the first success.
        first_ok = np.where(ok.any(axis=0), ok.argmax(axis=0), ATTEMPTS)
        made = np.arange(ATTEMPTS)[:, None] <= first_ok[None, :]
        made &= alive[None, :]
        # A content failure grows the next attempt's body by its output plus 100.
        grow = np.where(u < CONTENT, out + 100.0, 0.0)
        bodies = body[None, :] + np.vstack([np.zeros(n), np.cumsum(grow, axis=0)[:-1]])
        if prefix >= m["min_cache"]:
            hit = rng.random((ATTEMPTS, n)) < p_hit[None, :]
            prefix_usd = np.where(hit, m["read"], m["write"]) * prefix
        else:
            prefix_usd = m["inp"] * prefix
        call = prefix_usd + bodies * m["inp"] + out * m["out"]
        cost += (call * (made & billed)).sum(axis=0) / 1e6
        succeeded = first_ok < ATTEMPTS
        last_out = np.take_along_axis(out, np.minimum(first_ok, ATTEMPTS - 1)[None, :], 0)[0]
        context += np.where(succeeded, last_out, 0.0)
        alive &= succeeded
    return cost.sum()


def main():
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    replicas = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    start = time.perf_counter()
    rng = np.random.default_rng(1)
    # Every replica's Poisson count, then all their tasks in vectors of at most CHUNK.
    total = int(rng.poisson(TASKS_PER_DAY * days, replicas).sum())
    usd = 0.0
    for lo in range(0, total, CHUNK):
        usd += tasks(rng, min(CHUNK, total - lo))
    elapsed = time.perf_counter() - start
    print(f"numpy: {total} tasks (${usd / replicas / days:.2f}/day) in {elapsed:.3f} s"
          f" = {total / elapsed:.0f} tasks/s")


if __name__ == "__main__":
    main()

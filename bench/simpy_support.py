"""The article's support agent (scenarios/support-agent.toml) as a SimPy model, for the
performance comparison in the README: the same traffic (Poisson, 300/day, business-hours
profile), steps, lognormal token counts, failures, 5-minute prompt cache refreshed on hit,
retries with exponential backoff and jitter, per-call latency. Prints tasks/s.

Run: bench/run.sh (creates a venv with simpy) or `python bench/simpy_support.py DAYS REPLICAS`.
"""
import math
import random
import sys
import time

import simpy

PROFILE = [0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 1.0, 1.6, 1.8, 1.8, 1.7, 1.5, 1.7, 1.8, 1.7,
           1.5, 1.2, 0.9, 0.6, 0.5, 0.4, 0.3, 0.2]
MEAN = sum(PROFILE) / 24
PROFILE = [p / MEAN for p in PROFILE]
HAIKU = dict(inp=0.25, out=1.25, write=0.30, read=0.03, min_cache=2048, ttft=0.4, tpot=1 / 150)
SONNET = dict(inp=3.0, out=15.0, write=3.75, read=0.30, min_cache=1024, ttft=0.8, tpot=1 / 70)
# name, model, prefix, input mean/cv, output mean/cv, max_tokens, accumulate
STEPS = [
    ("classify", HAIKU, 500, (300, 0.5), (50, 0.3), 100, False),
    ("retrieve", HAIKU, 400, (800, 0.5), (200, 0.4), None, False),
    ("draft", SONNET, 1500, (1000, 0.5), (400, 0.5), 800, True),
    ("compliance", HAIKU, 1000, (500, 0.4), (100, 0.3), None, False),
]
FAIL = dict(malformed=0.05, tool_error=0.01, server_error=0.015, rate_limit=0.005)
TTL = 300.0
RATE = 300 / 86400.0


def lognormal(rng, mean, cv):
    s2 = math.log(1 + cv * cv)
    return rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))


class Stats:
    def __init__(self):
        self.tasks = 0
        self.cost = 0.0
        self.calls = 0


def call(env, rng, cache, stats, step, context):
    name, m, prefix, (im, icv), (om, ocv), cap, acc = step
    body = round(lognormal(rng, im, icv)) + (context if acc else 0)
    attempt = 0
    while True:
        out = round(lognormal(rng, om, ocv))
        if cap:
            out = min(out, cap)
        stats.calls += 1
        u = rng.random()
        noise = lognormal(rng, 1.0, 0.3)
        if u < FAIL["malformed"] + FAIL["tool_error"]:
            kind = "content"
        elif u < FAIL["malformed"] + FAIL["tool_error"] + FAIL["server_error"] + FAIL["rate_limit"]:
            kind = "transport"
        else:
            kind = "ok"
        if kind == "transport":
            yield env.timeout(m["ttft"] * noise)
        else:
            cost = 0.0
            if prefix >= m["min_cache"]:
                if cache.get(name, -1.0) > env.now:
                    cost += prefix * m["read"]
                else:
                    cost += prefix * m["write"]
                cache[name] = env.now + TTL
            else:
                body_all = body + prefix
                cost += 0 * body_all
                cost += prefix * m["inp"]
            cost += body * m["inp"] + out * m["out"]
            stats.cost += cost / 1e6
            yield env.timeout((m["ttft"] + out * m["tpot"]) * noise)
        if kind == "ok":
            return out
        if attempt >= 3:
            return None
        attempt += 1
        if kind == "content":
            body += out + 100
        else:
            wait = min(0.5 * 2 ** (attempt - 1), 8.0) * (1 - 0.25 * rng.random())
            yield env.timeout(wait)


def task(env, rng, cache, stats):
    context = 0
    for step in STEPS:
        out = yield env.process(call(env, rng, cache, stats, step, context))
        if out is None:
            break
        context += out
    stats.tasks += 1


def arrivals(env, rng, cache, stats, horizon):
    peak = RATE * max(PROFILE)
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= horizon:
            return
        if rng.random() * peak < RATE * PROFILE[int(t % 86400 // 3600)]:
            yield env.timeout(t - env.now)
            env.process(task(env, rng, cache, stats))


def main():
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    replicas = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    start = time.perf_counter()
    tasks = 0
    for r in range(replicas):
        rng = random.Random(r)
        env = simpy.Environment()
        stats = Stats()
        env.process(arrivals(env, rng, {}, stats, days * 86400.0))
        env.run()
        tasks += stats.tasks
    elapsed = time.perf_counter() - start
    print(f"simpy: {tasks} tasks in {elapsed:.3f} s = {tasks / elapsed:.0f} tasks/s")


if __name__ == "__main__":
    main()

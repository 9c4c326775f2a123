"""The Python side of benches/peers/run: checkpointer (PyPI) and joblib.Memory.

`python workloads.py GROUP DIR` runs one workload group (hit|miss|hash|big|many) with every
store under DIR and prints one JSON object per line, the shape the Rust side prints. Timing
mirrors src/measure.rs: calibrated batches (doubling until a batch lasts PEERS_BATCH_MS; the
calibration is the warm-up), PEERS_REPS repetitions (PEERS_REPS_BIG for operations of 0.1 s
or more), medians, all with time.perf_counter_ns in this process. Every function body counts
its executions, so a "hit" that computed is caught, not timed.
"""

import json
import os
import sys
import time

import numpy as np
from checkpointer import checkpoint
from joblib import Memory

BIG_LEN = 64 << 20  # 256 MiB of float32, the same bytes as the Rust side's ramp
MANY = 10_000

GROUP, DIR = sys.argv[1], sys.argv[2]
COMPUTED = 0


def env_int(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    n = int(value)
    if n < 1:
        raise SystemExit(f"{name}={value!r}: expected a positive integer")
    return n


REPS = env_int("PEERS_REPS", 15)
REPS_BIG = env_int("PEERS_REPS_BIG", 5)
REPS_MANY = env_int("PEERS_REPS_MANY", 3)
BATCH_NS = env_int("PEERS_BATCH_MS", 20) * 1_000_000


def square(x):
    global COMPUTED
    COMPUTED += 1
    return x * x


def ramp(n):
    global COMPUTED
    COMPUTED += 1
    return np.arange(n, dtype=np.uint32).astype(np.float32)


def stats(per_op, iters):
    per_op = sorted(per_op)
    n = len(per_op)
    median = per_op[n // 2] if n % 2 else (per_op[n // 2 - 1] + per_op[n // 2]) / 2
    return {"median_ns": median, "min_ns": per_op[0], "max_ns": per_op[-1], "reps": n, "iters": iters}


def timed(iters, op):
    t = time.perf_counter_ns()
    for _ in range(iters):
        op()
    return time.perf_counter_ns() - t


def batches(op):
    iters = 1
    took = timed(iters, op)
    while took < BATCH_NS and iters < 1 << 30:
        iters *= 2
        took = timed(iters, op)
    reps = REPS_BIG if took / iters >= 100_000_000 else REPS
    return stats([timed(iters, op) / iters for _ in range(reps)], iters)


def emit(w, sys_, s):
    print(json.dumps({"w": w, "sys": sys_, **s}), flush=True)


def na(w, sys_, why):
    print(json.dumps({"w": w, "sys": sys_, "na": why}), flush=True)


def hits(w, sys_, op):
    op()  # the first call may compute and store
    before = COMPUTED
    s = batches(op)
    assert COMPUTED == before, f"{w}/{sys_}: a timed hit computed"
    emit(w, sys_, s)


def misses(w, sys_, op):
    before = COMPUTED
    calls = 0

    def counted():
        nonlocal calls
        calls += 1
        op()

    s = batches(counted)
    assert COMPUTED - before == calls, f"{w}/{sys_}: a timed miss was a hit"
    emit(w, sys_, s)


NEXT = time.time_ns()


def fresh_block(n):
    """A block of n keys never used before (the base is the start time in ns)."""
    global NEXT
    base = NEXT
    NEXT += n
    return base


def fresh():
    return fresh_block(1)


def pickle_ck(fn):
    return checkpoint(fn, storage="pickle", directory=f"{DIR}/checkpointer", verbosity=0)


def memory_ck(fn):
    return checkpoint(fn, storage="memory", verbosity=0)


joblib_mem = Memory(location=f"{DIR}/joblib", verbose=0)
joblib_mmap = Memory(location=f"{DIR}/joblib-mmap", mmap_mode="r", verbose=0)


# One decorated function per workload and system, as on the Rust side. Plain named
# functions (not lambdas): checkpointer hashes the function's source for its identity.
def hit_fn(x):
    return square(x)


def miss_fn(x):
    return square(x)


def many_fn(x):
    return square(x)


def hash_fn(a):
    return square(len(a))


def big_fn(n):
    return ramp(n)


def group_hit():
    ck_mem, ck_disk, jl = memory_ck(hit_fn), pickle_ck(hit_fn), joblib_mem.cache(hit_fn)
    hits("hit_mem", "checkpointer", lambda: ck_mem(7))
    na("hit_mem", "joblib", "no memory tier (joblib.Memory is disk only)")
    hits("hit_disk", "checkpointer", lambda: ck_disk(7))
    hits("hit_disk", "joblib", lambda: jl(7))


def group_miss():
    ck_mem, ck_disk, jl = memory_ck(miss_fn), pickle_ck(miss_fn), joblib_mem.cache(miss_fn)
    misses("miss_mem", "checkpointer", lambda: ck_mem(fresh()))
    na("miss_mem", "joblib", "no memory tier (joblib.Memory is disk only)")
    misses("miss_disk", "checkpointer", lambda: ck_disk(fresh()))
    misses("miss_disk", "joblib", lambda: jl(fresh()))


def group_hash():
    global COMPUTED
    a = ramp(BIG_LEN)
    COMPUTED -= 1
    ck, jl = memory_ck(hash_fn), joblib_mem.cache(hash_fn)
    hits("hash", "checkpointer", lambda: ck(a))
    hits("hash", "joblib", lambda: jl(a))


def check_big(a, mapped):
    assert len(a) == BIG_LEN and a[12_345] == 12_345.0, "wrong array"
    assert isinstance(a, np.memmap) == mapped, f"expected memmap={mapped}, got {type(a)}"


def group_big():
    ck, jl, jl_mmap = pickle_ck(big_fn), joblib_mem.cache(big_fn), joblib_mmap.cache(big_fn)
    hits("big_disk", "checkpointer", lambda: check_big(ck(BIG_LEN), False))
    hits("big_disk", "joblib", lambda: check_big(jl(BIG_LEN), False))
    na("big_mmap", "checkpointer", "no mmap store (a pickle hit reads the whole array)")
    jl_mmap(BIG_LEN)  # the call that computes returns the array it computed; hits are maps
    hits("big_mmap", "joblib", lambda: check_big(jl_mmap(BIG_LEN), True))


def many(sys_, f):
    writes, reads = [], []
    for _ in range(REPS_MANY):
        base = fresh_block(MANY)
        before = COMPUTED
        t = time.perf_counter_ns()
        for i in range(MANY):
            f(base + i)
        writes.append(time.perf_counter_ns() - t)
        assert COMPUTED - before == MANY, f"many/{sys_}: a write was a hit"
        t = time.perf_counter_ns()
        for i in range(MANY):
            f(base + i)
        reads.append(time.perf_counter_ns() - t)
        assert COMPUTED - before == MANY, f"many/{sys_}: a read computed"
    emit("many_write", sys_, stats(writes, 1))
    emit("many_read", sys_, stats(reads, 1))


def group_many():
    many("checkpointer", pickle_ck(many_fn))
    many("joblib", joblib_mem.cache(many_fn))


GROUPS = {"hit": group_hit, "miss": group_miss, "hash": group_hash, "big": group_big, "many": group_many}

if __name__ == "__main__":
    if GROUP not in GROUPS:
        raise SystemExit(f"workloads.py: unknown workload group {GROUP!r} ({'|'.join(GROUPS)})")
    GROUPS[GROUP]()

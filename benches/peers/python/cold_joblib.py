"""Workload 6, joblib: a whole program whose one call is a hit in a joblib.Memory store under
argv[1]. The body reports on stderr when it runs (a recompute, not a hit)."""
import sys

from joblib import Memory

memory = Memory(location=sys.argv[1], verbose=0)


@memory.cache
def square(x):
    print("computed", file=sys.stderr)
    return x * x


print(square(7))

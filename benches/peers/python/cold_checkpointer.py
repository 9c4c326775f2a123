"""Workload 6, checkpointer (Python): a whole program whose one call is a hit in its pickle
store under argv[1]. The body reports on stderr when it runs (a recompute, not a hit)."""
import sys

from checkpointer import checkpoint


@checkpoint(directory=sys.argv[1], verbosity=0)
def square(x):
    print("computed", file=sys.stderr)
    return x * x


print(square(7))

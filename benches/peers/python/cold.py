"""Workload 6 for every system: cold process start to first hit.

`python cold.py BIN_DIR DIR` runs each system's small program (one call, a hit in its disk
store) as a fresh process PEERS_COLD_RUNS times (default 20) after two warm-up runs (the
first computes and stores), timing spawn to exit with time.perf_counter_ns, and prints JSON
lines like workloads.py. A timed run that recomputes (its body writes to stderr) or fails
stops the harness. Also prints anchors: an empty process of each language.
"""

import json
import os
import subprocess
import sys
import time

BIN, DIR = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = int(os.environ.get("PEERS_COLD_RUNS", "20"))
PY = sys.executable


def run(cmd, env):
    t = time.perf_counter_ns()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter_ns() - t
    if p.returncode != 0:
        raise SystemExit(f"cold: {cmd} exited {p.returncode}: {p.stderr.strip()}")
    return took, p.stdout.strip(), p.stderr.strip()


def cold(sys_, cmd, extra_env, expect="49"):
    env = {**os.environ, **extra_env}
    for _ in range(2):
        run(cmd, env)
    times = []
    for _ in range(RUNS):
        took, out, err = run(cmd, env)
        if out != expect or err:
            raise SystemExit(f"cold/{sys_}: not a clean hit: stdout {out!r}, stderr {err!r}")
        times.append(took)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    print(json.dumps({"w": "cold", "sys": sys_, "median_ns": median, "min_ns": times[0],
                      "max_ns": times[-1], "reps": n, "iters": 1}), flush=True)


cold("ours", [f"{BIN}/peers-cold-ours"], {"CHECKPOINTER_DIR": f"{DIR}/ours-cold"})
cold("cached", [f"{BIN}/peers-cold-cached"], {"PEERS_TMP": DIR})
cold("checkpointer", [PY, f"{HERE}/cold_checkpointer.py", f"{DIR}/checkpointer-cold"], {})
cold("joblib", [PY, f"{HERE}/cold_joblib.py", f"{DIR}/joblib-cold"], {})
# Anchors: what starting the language's process costs at all (not a system, no ratio).
cold("anchor-native", ["/bin/true"], {}, expect="")
cold("anchor-python", [PY, "-c", "pass"], {}, expect="")

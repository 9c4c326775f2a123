"""Checks and tabulates the JSON lines of one benches/peers/run.

`python table.py RESULTS.jsonl GROUP...` prints a Markdown table: one row per workload of
the given groups, one column per system, each figure the median per operation with how
ours compares ("ours 37× faster": the peer's median is 37 times ours), then the ranges (min–max over
the repetitions) and why a cell is n/a. Exits non-zero, naming the cells, when any expected
cell is missing, duplicated, unknown or not a positive number: the harness fails loudly.
"""

import datetime
import importlib.metadata
import json
import math
import os
import platform
import re
import subprocess
import sys

SYSTEMS = [
    ("ours", "ours (Rust)"),
    ("cached", "`cached` crate (Rust)"),
    ("checkpointer", "checkpointer (Python)"),
    ("joblib", "joblib.Memory (Python)"),
]
MIB256 = 256 << 20
ROWS = {
    "hit": [("hit_mem", "1. hit, small argument: memory tier", None),
            ("hit_disk", "1. hit, small argument: disk tier", None)],
    "miss": [("miss_mem", "2. miss + store, small value: memory tier", None),
             ("miss_disk", "2. miss + store, small value: disk tier", None)],
    "hash": [("hash", "3. hit with a 256 MiB float32 array argument (hashing it)", MIB256)],
    "big": [("big_disk", "4. hit returning a 256 MiB float32 array: disk tier", MIB256),
            ("big_mmap", "4. hit returning a 256 MiB float32 array: mmap", None)],
    "many": [("many_write", "5. 10 000 distinct small entries: write all (disk tier)", None),
             ("many_read", "5. 10 000 distinct small entries: read all back", None)],
    "cold": [("cold", "6. cold process start to first hit (disk tier)", None)],
}
ANCHORS = {"anchor-native": "an empty native process (`/bin/true`)",
           "anchor-python": "an empty Python process (`python -c pass`)"}


def fmt_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            v = ns / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{ns:.3g} ns"


def fmt_ratio(peer, ours):
    """How ours compares: "ours 37× faster" when the peer takes 37 times as long."""
    r = peer / ours
    word, r = ("faster", r) if r >= 1 else ("slower", 1 / r)
    return f"ours {r:.2g}× {word}" if r < 10 else f"ours {r:,.0f}× {word}"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+) kB", f.read(), re.M)
            mem = f"{int(m.group(1)) / (1 << 20):.0f} GiB" if m else mem
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem}, {platform.system()} {platform.release()}"


def versions():
    try:
        rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "rustc ?"
    py = {p: importlib.metadata.version(p) for p in ("checkpointer", "joblib", "numpy")}
    cached = "?"
    lock = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Cargo.lock")
    try:
        with open(lock) as f:
            m = re.search(r'name = "cached"\nversion = "([^"]+)"', f.read())
            cached = m.group(1) if m else cached
    except OSError:
        pass
    return (f"{rustc}, cached {cached}; Python {platform.python_version()}: checkpointer {py['checkpointer']}, "
            f"joblib {py['joblib']}, numpy {py['numpy']}")


def main():
    path, groups = sys.argv[1], sys.argv[2:]
    unknown = [g for g in groups if g not in ROWS]
    if not groups or unknown:
        raise SystemExit(f"table.py: groups {unknown or '(none)'} not among {list(ROWS)}")
    cells, loads, errors = {}, [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: not JSON ({e}): {line.strip()[:80]!r}")
                continue
            if "load" in rec:
                loads.append(rec["load"])
                continue
            key = (rec.get("w"), rec.get("sys"))
            if key in cells:
                errors.append(f"line {n}: duplicate cell {key}")
            cells[key] = rec
    expected = [(w, s) for g in groups for w, _, _ in ROWS[g] for s, _ in SYSTEMS]
    if "cold" in groups:
        expected += [("cold", a) for a in ANCHORS]
    for key in expected:
        rec = cells.pop(key, None)
        if rec is None:
            errors.append(f"missing cell {key}")
        elif "na" not in rec:
            for field in ("median_ns", "min_ns", "max_ns"):
                v = rec.get(field)
                if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                    errors.append(f"cell {key}: {field} = {v!r}")
            if not errors and not rec["min_ns"] <= rec["median_ns"] <= rec["max_ns"]:
                errors.append(f"cell {key}: median outside [min, max]")
        cells[key] = rec
    stray = [k for k in cells if k not in expected]
    if stray:
        errors.append(f"unexpected cells {stray}")
    if errors:
        raise SystemExit("table.py: the run's output does not check:\n  " + "\n  ".join(errors))

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"Run {now} on {machine()}; load average (1 min) {', '.join(loads) or '?'} "
           f"at the start of each group. {versions()}.", ""]
    out.append("| workload | " + " | ".join(label for _, label in SYSTEMS) + " |")
    out.append("|---" * (len(SYSTEMS) + 1) + "|")
    ranges, nas = [], []
    for g in groups:
        for w, label, size in ROWS[g]:
            ours = cells[(w, "ours")]
            row, rng = [], []
            for s, name in SYSTEMS:
                rec = cells[(w, s)]
                if "na" in rec:
                    row.append("n/a")
                    rng.append("n/a")
                    nas.append(f"- {name}, {label.split(':')[0]}: {rec['na']}")
                    continue
                cell = fmt_ns(rec["median_ns"])
                if size:
                    cell += f", {size / rec['median_ns'] * 1e9 / (1 << 30):.2f} GiB/s"
                if s != "ours" and "na" not in ours:
                    cell += f" ({fmt_ratio(rec['median_ns'], ours['median_ns'])})"
                row.append(cell)
                rng.append(f"{fmt_ns(rec['min_ns'])}–{fmt_ns(rec['max_ns'])} ×{rec['reps']}")
            out.append(f"| {label} | " + " | ".join(row) + " |")
            ranges.append(f"| {label} | " + " | ".join(rng) + " |")
    out += ["", "Ranges (min–max over the repetitions × count):", ""]
    out.append("| workload | " + " | ".join(label for _, label in SYSTEMS) + " |")
    out.append("|---" * (len(SYSTEMS) + 1) + "|")
    out += ranges
    if "cold" in groups:
        out += ["", "Anchors for 6 (not systems): " + "; ".join(
            f"{desc} {fmt_ns(cells[('cold', a)]['median_ns'])}" for a, desc in ANCHORS.items()) + "."]
    if nas:
        out += ["", "n/a:"] + sorted(set(nas))
    print("\n".join(out))


if __name__ == "__main__":
    main()

"""Formats bench/ab's (and bench/ab-postgres's) runs. Each input line: BIN SCENARIO CPU_TICKS
TICKS_PER_S VMHWM_KIB RESULT k=v..., where a `pg_ticks` pair is PostgreSQL's CPU over the run
and `steal_pct` (bench/load_cpu.py) the share of the machine's CPU the hypervisor took.
`line` prints one run; `medians` prints, per build and scenario, the median of its runs (and
the highest peak RSS)."""
import statistics, sys
from collections import defaultdict


def parse(line):
    bin_, scenario, ticks, hz, hwm, _result, *kv = line.split()
    kv = dict(p.split("=") for p in kv)
    n, seconds = int(kv["requests"]), float(kv["seconds"])
    return {
        "build": bin_, "scenario": scenario, "rate": n / seconds, "errors": int(kv["errors"]),
        "p99_ms": int(kv["p99_us"]) / 1000, "cpu_us": int(ticks) * 1e6 / int(hz) / max(n, 1),
        "hwm_mib": int(hwm) // 1024,
        "pg_cpu_us": int(kv["pg_ticks"]) * 1e6 / int(hz) / max(n, 1) if "pg_ticks" in kv else None,
        "steal_pct": float(kv["steal_pct"]) if "steal_pct" in kv else None,
    }


def show(r, runs=None):
    label = f" ({runs} runs)" if runs else ""
    pg = f"  PostgreSQL {r['pg_cpu_us']:5.0f} us/req" if r.get("pg_cpu_us") is not None else ""
    steal = f"  stolen {r['steal_pct']:2.0f}%" if r.get("steal_pct") is not None else ""
    print(f"{r['build']:24s} {r['scenario']:18s} {r['rate']:8.0f}/s  p99 {r['p99_ms']:6.1f} ms  "
          f"CPU {r['cpu_us']:5.0f} us/req{pg}  peak RSS {r['hwm_mib']} MiB  errors {r['errors']}{steal}{label}")


if sys.argv[1] == "line":
    show(parse(sys.stdin.readline()))
else:
    runs = defaultdict(list)
    for line in sys.stdin:
        if line.strip():
            r = parse(line)
            runs[(r["build"], r["scenario"])].append(r)
    print("medians:")
    for (build, scenario), rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("rate", "p99_ms", "cpu_us")}
        for key in ("pg_cpu_us", "steal_pct"):
            if all(r[key] is not None for r in rs):
                med[key] = statistics.median(r[key] for r in rs)
        med["hwm_mib"] = max(r["hwm_mib"] for r in rs)
        show({"build": build, "scenario": scenario, "errors": sum(r["errors"] for r in rs), **med}, len(rs))

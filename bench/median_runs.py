"""Reads named wrk RESULT lines (`NAME requests=… seconds=…`, several runs per name) on stdin
and prints, in first-seen order, the run with the median rate of each name (the lower middle
one for an even count); writes every run's rate per name to the file argv[1].
Usage: median_runs.py ROUNDS_FILE"""
import sys

runs = {}
for line in sys.stdin:
    name, *kv = line.split()
    fields = dict(p.split("=") for p in kv)
    runs.setdefault(name, []).append((float(fields["requests"]) / float(fields["seconds"]), line))
with open(sys.argv[1], "w") as out:
    medians = {}
    for name, rs in runs.items():
        ranked = sorted(rs, key=lambda r: r[0])
        medians[name] = ranked[(len(ranked) - 1) // 2][0]
        sys.stdout.write(ranked[(len(ranked) - 1) // 2][1])
        rates = ", ".join(f"{r:,.0f}" for r, _ in rs)
        out.write(f"{name.replace('_', ' ')}: req/s of {len(rs)} runs {rates}; median {medians[name]:,.0f}\n")
    if len(medians) == 2:
        (small, a), (large, b) = medians.items()
        out.write(f"the larger group's median rate against the smaller's (runs in alternating order): {b / a:.0%}\n")

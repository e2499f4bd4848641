"""Reads named wrk RESULT lines (`NAME requests=… seconds=…`, several runs per name) on stdin
and prints, in first-seen order, the run with the median rate of each name (the lower middle
one for an even count); writes every run's rate per name to the file argv[1].

With two names (the two group sizes, run in alternating order: small, large, large, small, …)
it also writes how the larger compares: the median of the rounds' ratios, each of a round's
two adjacent runs. A machine that speeds up or slows down through the runs favours the later run
of each round, the larger size in odd rounds and the smaller in even ones, so over an even number
of rounds that cancels. A ratio of the two sizes' median runs did not cancel it: with three
rounds a steady drift handed one size a later median run than the other.
Usage: median_runs.py ROUNDS_FILE"""
import statistics
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
    if len(runs) == 2:
        (small, smalls), (large, larges) = runs.items()
        ratios = [b[0] / a[0] for a, b in zip(smalls, larges)]
        each = ", ".join(f"{r:.0%}" for r in ratios)
        out.write(
            f"the larger group against the smaller, round by round (runs in alternating order): {each}; "
            f"median {statistics.median(ratios):.0%}\n"
        )

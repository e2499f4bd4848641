"""Turns wrk's RESULT line (from common.lua) on stdin into a markdown table row named argv[1]."""
import sys

line = next((l for l in sys.stdin if l.startswith("RESULT")), None)
if line is None:
    sys.exit(f"{sys.argv[1]}: wrk printed no RESULT line")
kv = dict(p.split("=") for p in line.split()[1:])
rps = float(kv["requests"]) / float(kv["seconds"])
p50, p99 = int(kv["p50_us"]) / 1000, int(kv["p99_us"]) / 1000
print(f"| {sys.argv[1]} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {kv['errors']} |")

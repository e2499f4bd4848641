"""Turns a file of named wrk RESULT lines (`NAME requests=… seconds=…`) into a markdown table,
with every row also given as a share of the `hello` row (the machine's HTTP limit in this run),
and, when the lines carry them, the server's CPU time per request (`cpu_ticks`) and the load
generator's (`load_cpu_us`, from bench/load_cpu.py): the two share the machine's cores; and the
share of the machine's CPU the hypervisor took meanwhile (`steal_pct`), which a rate compared
across runs needs beside it.
Usage: table.py RESULTS_FILE TITLE"""
import os, sys

rows = {}
for line in open(sys.argv[1]):
    name, *kv = line.split()
    rows[name] = {k: float(v) for k, v in (p.split("=") for p in kv)}
hello = rows["hello"]["requests"] / rows["hello"]["seconds"]
print(f"{sys.argv[2]}\n")
cpu = all("cpu_ticks" in r for r in rows.values())
load = all("load_cpu_us" in r for r in rows.values())
steal = all("steal_pct" in r for r in rows.values())
tick = 1e6 / os.sysconf("SC_CLK_TCK")
head = "| scenario | req/s | p50 ms | p99 ms | errors | share of hello world |"
print(head + (" server CPU µs/req |" if cpu else "") + (" wrk CPU µs/req |" if load else "") + (" CPU stolen |" if steal else ""))
print("|---|---:|---:|---:|---:|---:|" + ("---:|" if cpu else "") + ("---:|" if load else "") + ("---:|" if steal else ""))
for name, r in rows.items():
    rps = r["requests"] / r["seconds"]
    kinds = [f"{int(r[k]):,} {k.replace('_', ' ')}" for k in ("timeouts", "status_errors", "socket_errors") if r.get(k)]
    errors = f"{int(r['errors']):,}" + (f" ({', '.join(kinds)})" if kinds else "")
    line = f"| {name} | {rps:,.0f} | {r['p50_us']/1000:.2f} | {r['p99_us']/1000:.2f} | {errors} | {rps/hello:.0%} |"
    if cpu:
        line += f" {r['cpu_ticks'] * tick / max(r['requests'], 1):,.0f} |"
    if load:
        line += f" {r['load_cpu_us'] / max(r['requests'], 1):,.0f} |"
    if steal:
        line += f" {r['steal_pct']:.0f}% |"
    print(line)

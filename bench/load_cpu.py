"""Runs a wrk command line (argv[1:]) and prints its RESULT line (from common.lua) with the CPU
time wrk itself used, user and system, appended as `load_cpu_us=`. wrk shares the machine's
cores with the server, so what it spends per request is part of every rate's budget, and it is
not a constant: wrk sleeps and is woken more often per request when the server answers more
slowly (see BENCHMARKS.md, the twentieth round).
Usage: load_cpu.py wrk ARGS…"""
import resource
import subprocess
import sys

done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)
used = resource.getrusage(resource.RUSAGE_CHILDREN)
line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT")), None)
if done.returncode != 0 or line is None:
    sys.exit(f"wrk failed (exit {done.returncode}) or printed no RESULT line")
print(f"{line} load_cpu_us={(used.ru_utime + used.ru_stime) * 1e6:.0f}")

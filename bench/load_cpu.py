"""Runs a wrk command line (argv[1:]) and prints its RESULT line (from common.lua) with the CPU
time wrk itself used, user and system, appended as `load_cpu_us=`, and the share of the
machine's CPU time the hypervisor gave to others meanwhile (steal, from /proc/stat) as
`steal_pct=`. wrk shares the machine's cores with the server, so what it spends per request is
part of every rate's budget, and it is not a constant: wrk sleeps and is woken more often per
request when the server answers more slowly (see BENCHMARKS.md, the twentieth round). Steal is
CPU the run never had: on this VM it has reached a third of the cores within one run, and the
same build's rates moved with it.
Usage: load_cpu.py wrk ARGS…"""
import resource
import subprocess
import sys


def cpu_times():
    """The machine's CPU times (all cores) and, of them, steal, in clock ticks."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


total0, steal0 = cpu_times()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)
total1, steal1 = cpu_times()
used = resource.getrusage(resource.RUSAGE_CHILDREN)
line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT")), None)
if done.returncode != 0 or line is None:
    sys.exit(f"wrk failed (exit {done.returncode}) or printed no RESULT line")
steal = 100 * (steal1 - steal0) / max(total1 - total0, 1)
print(f"{line} load_cpu_us={(used.ru_utime + used.ru_stime) * 1e6:.0f} steal_pct={steal:.1f}")

#!/usr/bin/env python3
"""bench/cpu_window.py - who had a CPU during a time window (stall diagnosis).

Reads a `perf record -k mono -e sched:sched_switch -a` recording and prints,
for each CPU asked, the tasks that ran between T0 and T1 (CLOCK_MONOTONIC
seconds, as `rel_conns --gap-log` prints them in mono=) with their run time
and longest single run, most first. Tasks whose pid is in --ours (a file of
pids, one per line, e.g. from axl-stackd's log) are starred.

  perf record -k mono -e sched:sched_switch -a -o sched.data -- sleep 60 &
  AXL_KEEP_LOGS=/tmp/keep bench/reliability.sh replica
  bench/cpu_window.py sched.data 23381.90 23382.20 --cpus 0

Used for docs/RELIABILITY.md (the other replica's stalls): a stall during
which neither the replica nor its client ran while other work did is CPU
starvation, not the stack.
"""
import argparse
import collections
import re
import subprocess
import sys

RX = re.compile(r'\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch: prev_comm=(.*?) prev_pid=(\d+) '
                r'prev_prio=(\d+) prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('data')
    ap.add_argument('t0', type=float)
    ap.add_argument('t1', type=float)
    ap.add_argument('--cpus', default='0,1', help='CPUs to show (default 0,1)')
    ap.add_argument('--ours', help='file of pids to star')
    ap.add_argument('--top', type=int, default=8)
    a = ap.parse_args()
    if a.t1 <= a.t0:
        sys.exit('cpu_window.py: T1 must be after T0')
    cpus = [int(c) for c in a.cpus.split(',')]
    ours = set()
    if a.ours:
        ours = {int(x) for x in open(a.ours).read().split()}
    out = subprocess.run(['perf', 'script', '-i', a.data, '-F', 'cpu,time,event,trace',
                          '--time', '%.6f,%.6f' % (a.t0 - 1.0, a.t1)],
                         capture_output=True, text=True, check=False).stdout
    run = {c: collections.Counter() for c in cpus}
    longest = collections.defaultdict(float)
    cur, last = {}, {}
    for line in out.splitlines():
        m = RX.search(line)
        if not m or int(m[1]) not in run:
            continue
        cpu, t = int(m[1]), float(m[2])
        if cpu in last and t > a.t0:
            d = t - max(last[cpu], a.t0)
            run[cpu][cur[cpu]] += d
            longest[(cpu, cur[cpu])] = max(longest[(cpu, cur[cpu])], d)
        cur[cpu], last[cpu] = (m[7], int(m[8])), t
    for cpu in cpus:
        if cpu in last:
            d = a.t1 - max(last[cpu], a.t0)
            run[cpu][cur[cpu]] += d
            longest[(cpu, cur[cpu])] = max(longest[(cpu, cur[cpu])], d)
        print('cpu%d %.3f-%.3f (%.1f ms):' % (cpu, a.t0, a.t1, (a.t1 - a.t0) * 1e3))
        for (comm, pid), v in run[cpu].most_common(a.top):
            print('  %s/%d%s %.1f ms (longest %.1f)' % (comm, pid, '*' if pid in ours else '',
                                                         v * 1e3, longest[(cpu, (comm, pid))] * 1e3))


if __name__ == '__main__':
    main()

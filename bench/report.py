#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/report.py - turn one bench/run's raw figures into the report.

    bench/report.py --raw SERVERS.jsonl --out-json F.json --out-md F.md
                    [--plots DIR] [--section NAME=FILE ...] [--meta K=V ...]

Inputs: the JSON lines of bench/servers.sh (one per measurement: axl-load's
--json object plus the server's CPU seconds, or a ping / strace / idle
record, or {"skipped": reason}); text sections captured from the other
benchmarks (ring, ports, tcp, posix). Output: F.json with every raw figure
and the aggregates (median, min, max per row and side), F.md with a table
per row group (ours RTC / ours isolated / kernel / ratios / goal) and the
PNG bar charts (gnuplot, bench/bars.gp) next to it.

Call chain: bench/run -> bench/servers.sh (raw) -> report.py -> gnuplot.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

SIDES = ("rtc", "iso", "kernel")
SIDE_NAME = {"rtc": "ours RTC", "iso": "ours isolated", "kernel": "kernel"}
# row -> (title, kernel server, goal text, goal check on RTC/kernel ratio)
THROUGHPUT = [
    ("http_64", "HTTP 64 B, keep-alive, 100 connections", "nginx", ">= 15x", 15.0),
    ("http_new", "HTTP 64 B, new connection per request", "nginx", ">= 10x", 10.0),
    ("http_11k", "HTTP 11 KiB, keep-alive", "nginx", "-", None),
    ("http_512k", "HTTP 512 KiB, keep-alive", "nginx", "-", None),
    ("dns_1", "DNS, 1-entry zone", "NSD", ">= 15x", 15.0),
    ("dns_10k", "DNS, 10,000-entry zone", "NSD", ">= 15x", 15.0),
    ("kv_91", "memcached 9:1 get:set, 32 B keys, 64 B values", "memcached", ">= 15x", 15.0),
]
LATENCY = [
    ("echo_icmp", "ICMP echo, 64 B (ping -s 56, 1 ms apart)"),
    ("kv_lat", "memcached get, 64 B value, 1 connection"),
]


def med_min_max(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals),
            "values": vals}


def fmt(v, unit="", digits=None):
    if v is None:
        return "-"
    if digits is None:
        digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return f"{v:,.{digits}f}{unit}"


def cell(agg, unit="", digits=None):
    if not agg:
        return None
    if agg["n"] == 1:
        return fmt(agg["median"], unit, digits)
    return (f"{fmt(agg['median'], unit, digits)} ({fmt(agg['min'], '', digits)}–"
            f"{fmt(agg['max'], '', digits)})")


def ratio(a, b):
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--out-md", required=True)
    ap.add_argument("--plots", help="directory for the PNG charts (default: next to --out-md)")
    ap.add_argument("--section", action="append", default=[], help="NAME=FILE text section")
    ap.add_argument("--meta", action="append", default=[], help="K=V for the report head")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()

    recs = []
    if os.path.exists(a.raw):
        with open(a.raw) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    recs.append(json.loads(line))
                except json.JSONDecodeError as e:
                    print(f"report.py: {a.raw}:{n}: bad JSON ({e}), line ignored", file=sys.stderr)
    meta = dict(kv.split("=", 1) for kv in a.meta if "=" in kv)
    sections = {}
    for s in a.section:
        name, _, path = s.partition("=")
        try:
            with open(path) as f:
                sections[name] = f.read().rstrip()
        except OSError as e:
            sections[name] = f"(not available: {e})"

    # skipped sides, by family
    fam_of = {"http_64": "http", "http_new": "http", "http_11k": "http", "http_512k": "http",
              "echo_icmp": "http", "dns_1": "dns1", "dns_10k": "dns10k", "kv_91": "kv",
              "kv_lat": "kv", "idle_cpu": "idle", "syscalls": "sys", "sys_http_64": "sys"}
    skipped = {}
    for r in recs:
        if "skipped" in r:
            skipped.setdefault((r["family"], r["side"]), r["skipped"])

    def not_run(row, side):
        why = skipped.get((fam_of.get(row, ""), side))
        return f"not run: {why}" if why else "not run"

    def pick(row, side):
        return [r for r in recs if r.get("row") == row and r.get("side") == side]

    agg = {}
    for row, *_ in THROUGHPUT:
        for side in SIDES:
            rs = [r for r in pick(row, side) if "load" in r]
            fails = [r["failed"] for r in pick(row, side) if "failed" in r]
            d = {
                "rps": med_min_max([r["load"]["rps"] for r in rs]),
                "errors": sum(r["load"]["errors"] for r in rs),
                "requests": sum(r["load"]["requests"] for r in rs),
                "gbps": med_min_max([r["load"]["bytes_in"] * 8 / r["load"]["seconds"] / 1e9
                                     for r in rs if r["load"]["seconds"] > 0]),
                "p50_us": med_min_max([r["load"]["latency_us"]["p50"] for r in rs]),
                "p99_us": med_min_max([r["load"]["latency_us"]["p99"] for r in rs]),
                "cpu_us_per_req": med_min_max([r["server_cpu_s"] * 1e6 / r["load"]["requests"]
                                               for r in rs if r["load"]["requests"] > 0]),
                "server_busy_pct": med_min_max([100 * r["server_cpu_s"] / r["load"]["seconds"]
                                                for r in rs if r["load"]["seconds"] > 0]),
                "failed_runs": fails,
            }
            agg.setdefault(row, {})[side] = d
    for row, _ in LATENCY:
        for side in SIDES:
            rs = pick(row, side)
            if row == "echo_icmp":
                rs = [r for r in rs if r.get("ping", {}).get("replies", 0) > 0]
                p50 = med_min_max([r["ping"]["p50_us"] for r in rs])
                p99 = med_min_max([r["ping"]["p99_us"] for r in rs])
            else:
                rs = [r for r in rs if "load" in r]
                p50 = med_min_max([r["load"]["latency_us"]["p50"] for r in rs])
                p99 = med_min_max([r["load"]["latency_us"]["p99"] for r in rs])
            agg.setdefault(row, {})[side] = {"p50_us": p50, "p99_us": p99}
    for side in SIDES:
        sys_rs = pick("syscalls", side)
        load_rs = {r["rep"]: r for r in pick("sys_http_64", side) if "load" in r}
        per = []
        tops = []
        for r in sys_rs:
            lr = load_rs.get(r["rep"])
            if lr and lr["load"]["requests"] > 0 and r["syscalls"] >= 0:
                per.append(r["syscalls"] / lr["load"]["requests"])
                tops.append(r.get("top", ""))
        agg.setdefault("syscalls", {})[side] = {"per_request": med_min_max(per), "top": tops}
        idle = [100 * r["cpu_s"] / r["wall_s"] for r in pick("idle_cpu", side) if r.get("wall_s")]
        agg.setdefault("idle_cpu", {})[side] = {"pct": med_min_max(idle)}

    # ---- plots
    md_dir = os.path.dirname(os.path.abspath(a.out_md))
    plot_dir = a.plots or md_dir
    stem = os.path.splitext(os.path.basename(a.out_md))[0]
    gp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bars.gp")
    plots = {}
    have_gnuplot = shutil.which("gnuplot") is not None

    def plot(name, title, ylab, rows, key, logy=0):
        if not have_gnuplot:
            return None
        if not any(agg.get(row, {}).get(side, {}).get(key) for row, _ in rows for side in SIDES):
            return None  # nothing measured (rows not run): no chart
        os.makedirs(plot_dir, exist_ok=True)
        dat = os.path.join(plot_dir, f"{stem}-{name}.dat")
        png = os.path.join(plot_dir, f"{stem}-{name}.png")
        with open(dat, "w") as f:
            for row, label in rows:
                cols = ['"' + label.replace('"', "'") + '"']
                for side in SIDES:
                    v = agg.get(row, {}).get(side, {}).get(key)
                    cols += ([f"{v['median']:.4g}", f"{v['min']:.4g}", f"{v['max']:.4g}"] if v
                             else ["NaN"] * 3)
                f.write(" ".join(cols) + "\n")
        cmd = ["gnuplot", "-e", f"data='{dat}'; out='{png}'; ttl='{title}'; ylab='{ylab}'; "
               f"logy={logy}", gp]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0 or not os.path.exists(png):
            print(f"report.py: gnuplot failed for {name}: {p.stderr.strip()[:300]}", file=sys.stderr)
            return None
        os.unlink(dat)
        plots[name] = os.path.relpath(png, md_dir)
        return plots[name]

    plot("http", "HTTP requests/s (median, min..max)", "requests/s",
         [("http_64", "64B"), ("http_new", "64B new conn"), ("http_11k", "11KiB"),
          ("http_512k", "512KiB")], "rps", logy=1)
    plot("dns", "DNS queries/s (median, min..max)", "queries/s",
         [("dns_1", "1-entry zone"), ("dns_10k", "10,000-entry zone")], "rps")
    plot("kv", "memcached requests/s (median, min..max)", "requests/s",
         [("kv_91", "9:1 get:set")], "rps")
    plot("latency", "Round trip p50 (median, min..max)", "microseconds",
         [("echo_icmp", "ICMP echo 64B"), ("kv_lat", "kv get 64B")], "p50_us")

    # ---- JSON
    out = {"meta": meta, "quick": a.quick, "aggregates": agg, "raw": recs, "plots": plots,
           "sections": sections}
    with open(a.out_json, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)

    # ---- Markdown
    L = []
    w = L.append
    w(f"# Axolotl benchmarks, {meta.get('stamp', '')}")
    w("")
    w(f"Machine: {meta.get('machine', '?')}. Load average at start: {meta.get('load_start', '?')}, "
      f"at end: {meta.get('load_end', '?')}. Commit {meta.get('commit', '?')}; the run took "
      f"{meta.get('duration_s', '?')} s.")
    if a.quick:
        w("")
        w("**Quick smoke run (`--quick`): tiny durations, one repeat. The figures below are not "
          "measurements.**")
    w("")
    w(f"Servers: {meta.get('servers_cmd', '')}. Every figure is the median of "
      f"{meta.get('repeat', '?')} runs of {meta.get('seconds', '?')} s with (min–max); server "
      "pinned to CPU 0, `axl-load` to CPU 1, over veth between two network namespaces. "
      "Ratios are ours ÷ kernel in this same run. \"CPU/req\" is the server processes' "
      "utime+stime (`/proc/PID/stat`) per request; on veth part of the receive work runs on the "
      "client's CPU and is not in it (see docs/BENCHMARKS.md, Method).")
    w("")

    def tput_table(rows):
        w("| row | kernel server | ours RTC req/s | ours isolated req/s | kernel req/s "
          "| RTC ÷ kernel | isolated ÷ kernel | goal (RTC) |")
        w("|---|---|---|---|---|---|---|---|")
        for row, title, ksrv, goal, _g in rows:
            d = agg.get(row, {})
            c = [cell(d.get(s, {}).get("rps")) or not_run(row, s) for s in SIDES]
            r1 = ratio(d.get("rtc", {}).get("rps"), d.get("kernel", {}).get("rps"))
            r2 = ratio(d.get("iso", {}).get("rps"), d.get("kernel", {}).get("rps"))
            w(f"| {title} | {ksrv} | {c[0]} | {c[1]} | {c[2]} | {fmt(r1, 'x', 2)} | "
              f"{fmt(r2, 'x', 2)} | {goal} |")
        w("")
        w("| row | server CPU busy % (RTC / iso / kernel) | CPU µs per request (RTC / iso / kernel) "
          "| req per server CPU-second, RTC ÷ kernel | p50 / p99 µs (RTC) | p50 / p99 µs (kernel) "
          "| Gbit/s (RTC / kernel) | errors (RTC / iso / kernel) |")
        w("|---|---|---|---|---|---|---|---|")
        for row, title, *_ in rows:
            d = agg.get(row, {})

            def g(s, k):
                v = d.get(s, {}).get(k)
                return v["median"] if v else None
            busy = " / ".join(fmt(g(s, "server_busy_pct")) for s in SIDES)
            cpu = " / ".join(fmt(g(s, "cpu_us_per_req")) for s in SIDES)
            eff = (g("kernel", "cpu_us_per_req") / g("rtc", "cpu_us_per_req")
                   if g("kernel", "cpu_us_per_req") and g("rtc", "cpu_us_per_req") else None)
            lat_r = f"{fmt(g('rtc', 'p50_us'))} / {fmt(g('rtc', 'p99_us'))}"
            lat_k = f"{fmt(g('kernel', 'p50_us'))} / {fmt(g('kernel', 'p99_us'))}"
            gb = f"{fmt(g('rtc', 'gbps'), '', 2)} / {fmt(g('kernel', 'gbps'), '', 2)}"
            errs = " / ".join(str(d.get(s, {}).get("errors", "-")) for s in SIDES)
            w(f"| {title} | {busy} | {cpu} | {fmt(eff, 'x', 2)} | {lat_r} | {lat_k} | {gb} | {errs} |")
        w("")

    w("## HTTP: axl-httpd vs nginx (1 worker)")
    w("")
    tput_table([t for t in THROUGHPUT if t[0].startswith("http")])
    if "http" in plots:
        w(f"![HTTP requests/s]({plots['http']})")
        w("")
    w("## DNS: axl-dnsd vs NSD (1 server process, rate limiting off)")
    w("")
    tput_table([t for t in THROUGHPUT if t[0].startswith("dns")])
    if "dns" in plots:
        w(f"![DNS queries/s]({plots['dns']})")
        w("")
    w("## Key-value: axl-kvd vs memcached -t 1")
    w("")
    tput_table([t for t in THROUGHPUT if t[0].startswith("kv")])
    if "kv" in plots:
        w(f"![memcached requests/s]({plots['kv']})")
        w("")

    w("## Round trip latency")
    w("")
    w("| row | ours RTC p50 / p99 µs | ours isolated p50 / p99 µs | kernel p50 / p99 µs "
      "| RTC ÷ kernel p50 / p99 | goal |")
    w("|---|---|---|---|---|---|")
    for row, title in LATENCY:
        d = agg.get(row, {})
        cs = []
        for s in SIDES:
            v = d.get(s, {})
            cs.append(f"{cell(v.get('p50_us'))} / {cell(v.get('p99_us'))}" if v.get("p50_us")
                      else not_run(row, s))
        r50 = ratio(d.get("rtc", {}).get("p50_us"), d.get("kernel", {}).get("p50_us"))
        r99 = ratio(d.get("rtc", {}).get("p99_us"), d.get("kernel", {}).get("p99_us"))
        w(f"| {title} | {cs[0]} | {cs[1]} | {cs[2]} | {fmt(r50, 'x', 2)} / {fmt(r99, 'x', 2)} "
          f"| <= 0.33x |")
    w("")
    if "latency" in plots:
        w(f"![round trip p50]({plots['latency']})")
        w("")

    w("## CPU and system calls")
    w("")
    w("| figure | ours RTC | ours isolated | kernel | goal |")
    w("|---|---|---|---|---|")
    sc = agg.get("syscalls", {})
    w("| system calls per request, HTTP 64 B keep-alive under load (`strace -c -f` on the app) | "
      + " | ".join(cell(sc.get(s, {}).get("per_request"), "", 3) or not_run("syscalls", s)
                   for s in SIDES) + " | <= 0.01 (isolated app) |")
    ic = agg.get("idle_cpu", {})
    w("| CPU of an idle server, % of a core | "
      + " | ".join(cell(ic.get(s, {}).get("pct"), " %", 2) or not_run("idle_cpu", s)
                   for s in SIDES) + " | < 1 % |")
    h = agg.get("http_64", {})
    iso_rtc = None
    if h.get("iso", {}).get("cpu_us_per_req") and h.get("rtc", {}).get("cpu_us_per_req"):
        iso_rtc = h["iso"]["cpu_us_per_req"]["median"] / h["rtc"]["cpu_us_per_req"]["median"]
    w("| CPU per request, HTTP 64 B keep-alive, µs | "
      + " | ".join(cell(h.get(s, {}).get("cpu_us_per_req"), "", 2) or not_run("http_64", s)
                   for s in SIDES)
      + f" | isolated ÷ RTC <= 1.25x: measured {fmt(iso_rtc, 'x', 2)} |")
    w("")
    tops = {s: [t for t in sc.get(s, {}).get("top", []) if t] for s in SIDES}
    if any(tops.values()):
        w("Most frequent system calls during the counted run: "
          + "; ".join(f"{SIDE_NAME[s]}: `{tops[s][0]}`" for s in SIDES if tops[s]) + ".")
        w("")

    for name, title in (("posix", "Empty non-blocking recv (bench/posix.sh)"),
                        ("tcp", "Bulk TCP over veth (bench/tcp.sh)"),
                        ("ports", "Port ceilings (bench/ports.sh)"),
                        ("ring", "Shared-memory ring (ring_bench)"),
                        ("load", "axl-load on our stack vs on kernel sockets (bench/load_client.sh)")):
        if name not in sections:
            continue
        w(f"## {title}")
        w("")
        body = sections[name]
        if name in ("ring", "posix"):
            w("```")
            w(body)
            w("```")
        else:
            w(body)
        w("")
    errs = [(r.get("row"), r.get("side"), r["failed"]) for r in recs if "failed" in r]
    if errs:
        w("## Failed runs")
        w("")
        for row, side, why in errs:
            w(f"- {row} / {side}: {why}")
        w("")
    with open(a.out_md, "w") as f:
        f.write("\n".join(L) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

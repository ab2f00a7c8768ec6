#!/usr/bin/python3
"""Scrapes Sluice's /metrics at a fixed interval until SIGTERM, like a (very eager)
Prometheus, then prints one JSON summary line.

Usage: scrape_loop.py --port PORT [--interval-ms 100] [--host 127.0.0.1] [--pid PID]

One HTTP connection per scrape: Sluice's exporter (civetweb, keep-alive off) closes it
after each response, so Prometheus reconnects every scrape too; and gzip, which
Prometheus asks for. Used by compare.sh's `sluice-scraped` target to measure what scraping costs
the query path. Summary: scrapes, errors, mean and max scrape latency (ms), bytes per
scrape, the interval asked for and the one achieved; with --pid, also the CPU time that
process used meanwhile and per scrape (cpu_us_per_scrape: only meaningful when nothing else
keeps that process busy, e.g. a Sluice without clients and --interval-ms 1):
  scrape_loop.py --port 36070 --interval-ms 1 --pid "$(pgrep -f 'sluice --config X')" & sleep 10; kill $!
"""
import argparse
import http.client
import json
import os
import signal
import sys
import time


def cpu_ticks(pid):
    """utime + stime of pid (all threads), in clock ticks; None without a pid."""
    if pid is None:
        return None
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--interval-ms", type=float, default=100.0)
    ap.add_argument("--pid", type=int, help="report this process's CPU time over the loop")
    args = ap.parse_args()

    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    interval = args.interval_ms / 1000.0
    scrapes = errors = total_bytes = 0
    lat_sum = lat_max = 0.0
    first_error = ""
    cpu0 = cpu_ticks(args.pid)
    t_start = time.monotonic()
    next_at = t_start
    while not stop:
        t0 = time.monotonic()
        conn = http.client.HTTPConnection(args.host, args.port, timeout=5)
        try:
            # As Prometheus asks: the exporter then gzips every answer (its real cost).
            conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            lat = time.monotonic() - t0
            scrapes += 1
            total_bytes += len(body)
            lat_sum += lat
            lat_max = max(lat_max, lat)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors += 1
            first_error = first_error or repr(exc)
        finally:
            conn.close()
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_at = time.monotonic()  # fell behind: do not burst to catch up
    elapsed = time.monotonic() - t_start
    cpu1 = cpu_ticks(args.pid)
    extra = {}
    if cpu0 is not None and cpu1 is not None:
        cpu_us = (cpu1 - cpu0) * 1e6 / os.sysconf("SC_CLK_TCK")
        extra = {"pid_cpu_ms": round(cpu_us / 1000, 1),
                 "cpu_us_per_scrape": round(cpu_us / scrapes, 1) if scrapes else None}
    print(json.dumps({
        "scrapes": scrapes, "errors": errors, "first_error": first_error,
        "interval_ms": args.interval_ms,
        "achieved_interval_ms": round(elapsed * 1000 / scrapes, 1) if scrapes else None,
        "mean_ms": round(lat_sum * 1000 / scrapes, 2) if scrapes else None,
        "max_ms": round(lat_max * 1000, 2),
        "bytes_per_scrape": total_bytes // scrapes if scrapes else None,  # compressed
        **extra,
    }))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

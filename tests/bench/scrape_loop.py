#!/usr/bin/python3
"""Scrapes Sluice's /metrics at a fixed interval until SIGTERM, like a (very eager)
Prometheus, then prints one JSON summary line.

Usage: scrape_loop.py --port PORT [--interval-ms 100] [--host 127.0.0.1]

One HTTP connection per scrape: Sluice's exporter (civetweb, keep-alive off) closes it
after each response, so Prometheus reconnects every scrape too; and gzip, which
Prometheus asks for. Used by compare.sh's `sluice-scraped` target to measure what scraping costs
the query path. Summary: scrapes, errors, mean and max scrape latency (ms), bytes per
scrape, the interval asked for and the one achieved.
"""
import argparse
import http.client
import json
import signal
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--interval-ms", type=float, default=100.0)
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
    print(json.dumps({
        "scrapes": scrapes, "errors": errors, "first_error": first_error,
        "interval_ms": args.interval_ms,
        "achieved_interval_ms": round(elapsed * 1000 / scrapes, 1) if scrapes else None,
        "mean_ms": round(lat_sum * 1000 / scrapes, 2) if scrapes else None,
        "max_ms": round(lat_max * 1000, 2),
        "bytes_per_scrape": total_bytes // scrapes if scrapes else None,  # compressed
    }))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

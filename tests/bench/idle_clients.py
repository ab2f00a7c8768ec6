#!/usr/bin/python3
"""Memory per idle client, for tests/bench/compare.sh.

Opens N MySQL client connections (PyMySQL: full handshake + authentication, then no
query at all: autocommit=None keeps PyMySQL from sending SET AUTOCOMMIT), waits for the
processes to settle, and reads VmRSS of the given pids before and after. Prints one JSON
object on stdout:

  {"target": label, "proxy_pid": pid, "requested": N, "opened": n, "error": "...", "seconds": s,
   "rss_before_kb": {"pid": kb, ...}, "rss_after_kb": {"pid": kb, ...},
   "threads_before": t0, "threads_after": t1}

threads_* are the server's Threads_connected (read on --server-port, if given), so a
reader can see how many backend connections the idle clients cost the database.

Run with /usr/bin/python3 (Debian's python3-pymysql is not visible to the pyenv python).
"""
import argparse
import json
import resource
import sys
import time

import pymysql


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def threads_connected(args):
    if not args.server_port:
        return None
    try:
        c = pymysql.connect(host=args.host, port=args.server_port, user=args.user,
                            password=args.password, connect_timeout=5, autocommit=None)
        with c.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
            v = int(cur.fetchone()[1])
        c.close()
        return v
    except Exception:  # noqa: BLE001 - best effort, reported as null
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="app")
    p.add_argument("--password", default="app")
    p.add_argument("--db", default="sluice_test")
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--pids", default="", help="comma-separated pids whose VmRSS to read")
    p.add_argument("--server-port", type=int, default=0,
                   help="port of the database server itself, to read Threads_connected")
    p.add_argument("--label", default="", help="copied to the output as \"target\"")
    p.add_argument("--measured-pid", default="",
                   help="copied to the output as \"proxy_pid\": the pid the report divides")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait before 'after'")
    args = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    pids = [x for x in args.pids.split(",") if x]
    out = {"target": args.label, "proxy_pid": args.measured_pid,
           "requested": args.n, "opened": 0, "error": None}
    time.sleep(args.settle)  # let any previous activity (bench runs) die down
    out["rss_before_kb"] = {pid: rss_kb(pid) for pid in pids}
    out["threads_before"] = threads_connected(args)

    conns = []
    t0 = time.monotonic()
    for _ in range(args.n):
        try:
            conns.append(pymysql.connect(host=args.host, port=args.port, user=args.user,
                                         password=args.password, database=args.db,
                                         connect_timeout=10, autocommit=None))
        except Exception as e:  # noqa: BLE001 - report and measure what we have
            out["error"] = f"{type(e).__name__}: {e}"[:200]
            break
    out["opened"] = len(conns)
    out["seconds"] = round(time.monotonic() - t0, 2)

    time.sleep(args.settle)
    out["rss_after_kb"] = {pid: rss_kb(pid) for pid in pids}
    out["threads_after"] = threads_connected(args)

    for c in conns:
        try:
            c.close()
        except Exception:  # noqa: BLE001
            pass
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

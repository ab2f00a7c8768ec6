#!/usr/bin/python3
"""Prints the markdown report of tests/bench/compare.sh from its results directory.

Usage: report.py RESULTS_DIR

Reads (all written by compare.sh):
  meta.tsv      key<TAB>value lines: machine and run settings
  results.tsv   one line per (workload, target, round), header line first
  idle.jsonl    optional, one JSON object per target measured with --idle-clients

With several rounds the table shows the median of each figure over the rounds that
succeeded; every single run stays in results.tsv and raw/.
"""
import json
import os
import statistics
import sys

TARGET_ORDER = ["direct", "sluice", "sluice-scraped", "haproxy"]
TARGET_LABEL = {"direct": "direct", "sluice": "Sluice", "sluice-scraped": "Sluice + scrapes",
                "haproxy": "haproxy"}


def read_meta(d):
    meta = {}
    path = os.path.join(d, "meta.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if "\t" in line:
                    k, v = line.split("\t", 1)
                    meta[k] = v
    return meta


def read_results(d):
    path = os.path.join(d, "results.tsv")
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            vals = line.split("\t")
            vals += [""] * (len(header) - len(vals))
            rows.append(dict(zip(header, vals)))
    return rows


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, digits=1):
    if v is None:
        return "–"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    meta = read_meta(d)
    rows = read_results(d)
    clk = num(meta.get("clk_tck")) or 100.0

    # Group the runs of one (workload, target).
    groups = {}
    workloads = []
    for r in rows:
        key = (r["workload"], r["target"])
        if r["workload"] not in workloads:
            workloads.append(r["workload"])
        groups.setdefault(key, []).append(r)

    def summarize(runs):
        ok = [r for r in runs if r["status"] == "ok"]
        out = {"runs": len(runs), "ok": len(ok)}
        failed = [r for r in runs if r["status"] != "ok"]
        out["fail_note"] = failed[0].get("note", "") if failed else ""
        out["ok_note"] = ok[0].get("note", "") if ok else ""
        out["errors"] = sum(int(num(r.get("errors")) or 0) for r in ok)
        out["qps"] = med(num(r["qps"]) for r in ok)
        out["p95"] = med(num(r["p95_ms"]) for r in ok)

        def per_query(col):
            vals = []
            for r in ok:
                ticks, q = num(r.get(col)), num(r.get("queries"))
                if ticks is not None and q:
                    vals.append(ticks * 1e6 / clk / q)
            return med(vals)

        out["proxy_us"] = per_query("proxy_ticks")
        out["server_us"] = per_query("server_ticks")
        rss = med(num(r.get("proxy_rss_kb")) for r in ok)
        out["rss_mib"] = rss / 1024 if rss is not None else None
        return out

    summary = {k: summarize(v) for k, v in groups.items()}

    print("## Sluice vs haproxy vs direct (sysbench)")
    print()
    print(f"- Machine: {meta.get('nproc', '?')} CPUs (nproc), {meta.get('cpu_model', '?')}, "
          f"kernel {meta.get('kernel', '?')}, MariaDB {meta.get('mariadb_version', '?')}, "
          f"{meta.get('date', '?')}, load average at start {meta.get('loadavg', '?')}")
    sluice = ""
    if meta.get("sluice_target", "1") == "1":
        sluice = (f", Sluice {meta.get('sluice_commit', '?')} "
                  f"({meta.get('sluice_build_type', '?')} build, "
                  f"workers={meta.get('sluice_workers', '?')}, "
                  f"pool max_connections={meta.get('sluice_pool_max', '?')})")
    print(f"- Software: {meta.get('sysbench_version', 'sysbench ?')}, "
          f"{meta.get('haproxy_version', 'haproxy ?')} (mode tcp, nbthread 1){sluice}")
    print(f"- Run: {meta.get('tables', '?')} tables × {meta.get('table_size', '?')} rows, "
          f"{meta.get('threads', '?')} client threads, {meta.get('time', '?')} s per run "
          f"(+{meta.get('warmup', '?')} s warm-up, not measured), "
          f"--db-ps-mode={meta.get('ps_mode', '?')}, {meta.get('rounds', '1')} round(s)"
          f"{' (medians)' if meta.get('rounds', '1') != '1' else ''}")
    print(f"- Routing: {meta.get('routing', '?')}")
    if meta.get("sysbench_args"):
        print(f"- Extra sysbench arguments: `{meta['sysbench_args']}`")
    print()

    print("| workload | target | QPS | p95 ms | QPS vs direct | proxy CPU µs/query "
          "| vs haproxy | server CPU µs/query | proxy RSS MiB | status |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for w in workloads:
        targets = [t for t in TARGET_ORDER if (w, t) in summary]
        targets += sorted(t for (ww, t) in summary if ww == w and t not in TARGET_ORDER)
        direct = summary.get((w, "direct"), {})
        hap = summary.get((w, "haproxy"), {})
        for t in targets:
            s = summary[(w, t)]
            if s["ok"] == 0:
                note = s["fail_note"] or "failed"
                print(f"| {w} | {TARGET_LABEL.get(t, t)} | – | – | – | – | – | – | – "
                      f"| **FAILED**: {note} |")
                continue
            status = "ok"
            if s["ok"] < s["runs"]:
                status = f"{s['ok']}/{s['runs']} runs ok ({s['fail_note']})"
            if s["errors"]:
                status += f", {s['errors']} ignored errors"
            if s["ok_note"]:
                status += f"; {s['ok_note']}" + (" (round 1)" if s["ok"] > 1 else "")
            qps_vs = fmt_ratio(ratio(s["qps"], direct.get("qps"))) if t != "direct" else "1.00×"
            vs_hap = (fmt_ratio(ratio(s["proxy_us"], hap.get("proxy_us")))
                      if t in ("sluice", "sluice-scraped") else "")
            proxy_us = fmt(s["proxy_us"]) if t != "direct" else ""
            rss = fmt(s["rss_mib"]) if t != "direct" else ""
            print(f"| {w} | {TARGET_LABEL.get(t, t)} | {fmt(s['qps'], 0)} | {fmt(s['p95'], 2)} "
                  f"| {qps_vs} | {proxy_us} | {vs_hap} | {fmt(s['server_us'])} | {rss} "
                  f"| {status} |")
    print()

    print("| workload | Sluice/haproxy CPU µs per query | Sluice/direct QPS | haproxy/direct QPS |")
    print("|---|---:|---:|---:|")
    for w in workloads:
        sl = summary.get((w, "sluice"), {})
        hp = summary.get((w, "haproxy"), {})
        dr = summary.get((w, "direct"), {})
        print(f"| {w} | {fmt_ratio(ratio(sl.get('proxy_us'), hp.get('proxy_us')))} "
              f"| {fmt_ratio(ratio(sl.get('qps'), dr.get('qps')))} "
              f"| {fmt_ratio(ratio(hp.get('qps'), dr.get('qps')))} |")
    print()

    if any(t == "sluice-scraped" for (_, t) in summary):
        print(f"Scrape cost: the same Sluice with /metrics scraped every "
              f"{meta.get('scrape_ms', '?')} ms during the run (tests/bench/scrape_loop.py, a "
              f"new connection per scrape, as Prometheus) vs not scraped.")
        print()
        print("| workload | QPS not scraped | QPS scraped | QPS change | proxy CPU µs/query "
              "not scraped | scraped | CPU change |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for w in workloads:
            a = summary.get((w, "sluice"), {})
            b = summary.get((w, "sluice-scraped"), {})
            dq = ratio(b.get("qps"), a.get("qps"))
            dc = ratio(b.get("proxy_us"), a.get("proxy_us"))
            pct = (lambda r: "–" if r is None else f"{(r - 1) * 100:+.1f}%")
            print(f"| {w} | {fmt(a.get('qps'), 0)} | {fmt(b.get('qps'), 0)} | {pct(dq)} "
                  f"| {fmt(a.get('proxy_us'))} | {fmt(b.get('proxy_us'))} | {pct(dc)} |")
        print()

    idle_path = os.path.join(d, "idle.jsonl")
    if os.path.exists(idle_path):
        print("Idle clients (connected and authenticated, no query). Measured process: the "
              "proxy, or mariadbd itself for direct.")
        print()
        print("| target | clients opened | RSS before MiB | RSS after MiB "
              "| KiB per idle client | server connections added | note |")
        print("|---|---:|---:|---:|---:|---:|---|")
        with open(idle_path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                j = json.loads(line)
                t = j.get("target", "?")
                pid = str(j.get("proxy_pid", ""))
                before = (j.get("rss_before_kb") or {}).get(pid)
                after = (j.get("rss_after_kb") or {}).get(pid)
                opened = j.get("opened") or 0
                per = (after - before) / opened if (before is not None and after is not None
                                                    and opened) else None
                tb, ta = j.get("threads_before"), j.get("threads_after")
                added = ta - tb if (tb is not None and ta is not None) else None
                note = j.get("skipped") or j.get("error") or ""
                if j.get("requested") and opened < j["requested"] and not j.get("skipped"):
                    note = f"only {opened}/{j['requested']} opened; {note}"
                label = TARGET_LABEL.get(t, t) + (" (mariadbd)" if t == "direct" else "")
                print(f"| {label} | {opened} "
                      f"| {fmt(before / 1024 if before is not None else None)} "
                      f"| {fmt(after / 1024 if after is not None else None)} "
                      f"| {fmt(per)} | {'–' if added is None else added} | {note} |")
        print()

    print("Proxy CPU µs/query = (utime+stime delta of the proxy process over the measured run, "
          "from /proc/<pid>/stat) / queries sysbench counted in that run (BEGIN/COMMIT "
          "included). Server CPU µs/query is the same for mariadbd. Raw outputs: "
          f"{os.path.abspath(d)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""report.py - turns the raw results of bench/compare_vpns.sh into numbers, a JSON
document and a Markdown table, and judges issue 4's end-to-end targets.

Role: benchmark reporting, run once at the end of compare_vpns.sh (no traffic).

Input, a directory with:
  machine        "key value" lines (date, command, cpu, versions, clk_tck, ...)
  NAME/facts     "key value" lines (mode, cipher, note, dst, error, TAG rc N)
  NAME/ping.txt  ping -q output
  NAME/TAG.json  iperf3 -J output for TAG in tcp1, tcp4, udp64
  NAME/TAG.snap0, NAME/TAG.snap1   samples at the edges of the measuring window
                 (wall_us, vpn_ticks, rss_kb, hwm_kb, the /proc/stat cpu line,
                 "thread TID COMM TICKS" lines; for ipop also *.ipop-{a,b}.json)
"""
import argparse
import json
import os
import re
import statistics
import sys

TARGET_TCP_RATIO = 1.5
# --topology endpoint (issue 15): TCP 1 stream >= 3x the best peer, 4 streams
# >= 2x; ping no worse than the best peer; UDP 64 B pps at least the best
# peer's; idle CPU <= 0.02 core and RSS <= 24 MiB per endpoint.
ENDPOINT_TARGETS = {"tcp1": 3.0, "tcp4": 2.0}
ENDPOINT_IDLE_CORES = 0.02
ENDPOINT_RSS_MIB = 24.0
TOPOLOGY = "bridged"
PEERS = ("wireguard-go", "nebula", "tinc", "openvpn", "n2n", "fastd")
TESTS = ("tcp1", "tcp4", "udp64")


def read_kv(path):
    kv, multi = {}, {}
    if not os.path.exists(path):
        return kv, multi
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            key, _, val = line.partition(" ")
            multi.setdefault(key, []).append(val)
            kv[key] = val
    return kv, multi


def read_snap(path):
    if not os.path.exists(path):
        return None
    s = {"threads": []}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "cpu":
                v = [int(x) for x in parts[1:]]
                # user nice system idle iowait irq softirq steal ...
                s["cpu_busy"] = v[0] + v[1] + v[2] + v[5] + v[6]
                s["cpu_total"] = sum(v[:8])
                s["cpu_steal"] = v[7]
            elif parts[0] == "thread":
                s["threads"].append((parts[1], parts[2], int(parts[3])))
            else:
                s[parts[0]] = int(parts[1])
    return s


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def parse_ping(path):
    if not os.path.exists(path):
        return None
    text = open(path).read()
    out = {}
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    if m:
        out["sent"], out["received"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", text)
    if m:
        out.update(min_ms=float(m.group(1)), avg_ms=float(m.group(2)),
                   max_ms=float(m.group(3)), mdev_ms=float(m.group(4)))
    # Each reply's time (ping without -q): the median and the 90th percentile,
    # which a few scheduling outliers of a shared host do not move as they
    # move the average.
    times = sorted(float(t) for t in re.findall(r"time=([\d.]+) ms", text))
    if times:
        out.update(median_ms=round(statistics.median(times), 3),
                   p90_ms=times[min(len(times) - 1, int(len(times) * 0.9))])
    return out or None


def window_cpu(s0, s1, clk, ncpu):
    """Cores used by the VPN's processes and by the whole machine between samples."""
    if not s0 or not s1:
        return {}
    secs = (s1["wall_us"] - s0["wall_us"]) / 1e6
    if secs <= 0:
        return {}
    out = {"window_s": round(secs, 3),
           "vpn_cores": round((s1["vpn_ticks"] - s0["vpn_ticks"]) / clk / secs, 3),
           "rss_kb": s1["rss_kb"], "hwm_kb": s1["hwm_kb"]}
    if "outside_ticks" in s0 and "outside_ticks" in s1:
        out["outside_cores"] = round((s1["outside_ticks"] - s0["outside_ticks"]) / clk / secs, 3)
    tot = s1["cpu_total"] - s0["cpu_total"]
    if tot > 0:
        out["machine_busy_cores"] = round(ncpu * (s1["cpu_busy"] - s0["cpu_busy"]) / tot, 3)
        out["machine_steal_cores"] = round(ncpu * (s1["cpu_steal"] - s0["cpu_steal"]) / tot, 3)
    # Threads that started or ended inside the window are left out of this split
    # (vpn_cores, from the processes, has them).
    t0 = {tid: t for tid, _, t in s0["threads"]}
    by_name = {}
    for tid, c, t in s1["threads"]:
        if tid in t0:
            by_name[c] = by_name.get(c, 0) + (t - t0[tid]) / clk / secs
    out["thread_cores"] = {k: round(v, 3) for k, v in sorted(by_name.items())}
    return out


def ipop_window(d, tag):
    """busy_pct and poll counters of both gateways at the window's edges."""
    out = {}
    for gw in ("a", "b"):
        j0 = read_json(os.path.join(d, f"{tag}.snap0.ipop-{gw}.json"))
        j1 = read_json(os.path.join(d, f"{tag}.snap1.ipop-{gw}.json"))
        if not j0 or not j1:
            continue
        p0, p1 = j0["dataplane"], j1["dataplane"]
        polls = p1["polls"] - p0["polls"]
        idle = p1["idle_polls"] - p0["idle_polls"]
        out["gw-" + gw] = {
            "busy_pct_since_start": round(p1["busy_pct"], 2),
            "polls": polls,
            "productive_poll_pct": round(100.0 * (polls - idle) / polls, 2) if polls else None,
            "sleeps": p1["sleeps"] - p0["sleeps"],
            "lan_rx": p1["lan_rx"] - p0["lan_rx"],
            "wan_rx": p1["wan_rx"] - p0["wan_rx"],
            "drops_total": sum(p1["drops"].values()) - sum(p0["drops"].values()),
        }
    return out


def iperf_result(j, tag):
    if j is None:
        return {"error": "no iperf3 output"}
    if "error" in j:
        return {"error": j["error"]}
    end = j.get("end", {})
    if tag == "udp64":
        rx, tx = end.get("sum_received"), end.get("sum_sent")
        if not rx or not tx:
            return {"error": "no UDP summary"}
        blk = j["start"]["test_start"]["blksize"]
        secs = rx["seconds"] or 1
        rx_pkts = rx["bytes"] // blk
        return {"rx_pps": round(rx_pkts / secs), "tx_pps": round(tx["packets"] / secs),
                "loss_pct": round(rx.get("lost_percent", 0.0), 2), "payload_bytes": blk}
    s = end.get("sum_received") or end.get("sum")
    if not s:
        return {"error": "no TCP summary"}
    out = {"mbps": round(s["bits_per_second"] / 1e6, 1)}
    snt = end.get("sum_sent")
    if snt and "retransmits" in snt:
        out["retransmits"] = snt["retransmits"]
    return out


def derive(t):
    """Whole-testbed cost: the machine's busy cores less other users' (so hosts'
    iperf3 and kernel softirq work count, which the VPN processes' own CPU misses)."""
    if t.get("mbps", 0) <= 0 or "machine_busy_cores" not in t:
        return
    gbps = t["mbps"] / 1000.0
    t["machine_cores_per_gbps"] = round(t["machine_busy_cores"] / gbps, 3)
    if "outside_cores" in t:
        t["testbed_cores_per_gbps"] = round(
            max(t["machine_busy_cores"] - t["outside_cores"], 0.0) / gbps, 3)


def one(d, name, clk, ncpu):
    facts, multi = read_kv(os.path.join(d, "facts"))
    r = {"mode": facts.get("mode", ""), "cipher": facts.get("cipher", ""),
         "note": facts.get("note", ""), "dst": facts.get("dst", "")}
    frag = {k: int(v) for k, v in facts.items() if k.startswith(("ip_frag", "ip_reasm"))}
    if frag:
        r["gateway_kernel_ip_fragments"] = frag
    if "error" in multi:
        r["error"] = "; ".join(multi["error"])
        logs = os.path.join(d, "logs.txt")
        if os.path.exists(logs):
            r["logs"] = open(logs).read()[-4000:]
    r["ping"] = parse_ping(os.path.join(d, "ping.txt"))
    if os.path.exists(os.path.join(d, "idle.snap1")):
        r["idle"] = window_cpu(read_snap(os.path.join(d, "idle.snap0")),
                               read_snap(os.path.join(d, "idle.snap1")), clk, ncpu)
    nosleep = parse_ping(os.path.join(d, "ping_nosleep.txt"))
    if nosleep:
        r["ping_without_idle_backoff"] = nosleep
    for tag in TESTS:
        if not os.path.exists(os.path.join(d, f"{tag}.json")):
            continue
        t = iperf_result(read_json(os.path.join(d, f"{tag}.json")), tag)
        cpu = window_cpu(read_snap(os.path.join(d, f"{tag}.snap0")),
                         read_snap(os.path.join(d, f"{tag}.snap1")), clk, ncpu)
        t.update(cpu)
        if name == "ipop":
            t["ipop"] = ipop_window(d, tag)
        if "mbps" in t and t["mbps"] > 0 and "vpn_cores" in t and not name.startswith("plain"):
            t["vpn_cores_per_gbps"] = round(t["vpn_cores"] / (t["mbps"] / 1000.0), 3)
        derive(t)
        r[tag] = t
    return r


def candidate(res, name, clk, ncpu):
    """Every round of one candidate; its numbers are those of its best TCP 1 round."""
    base = os.path.join(res, name)
    rounds = sorted((x for x in os.listdir(base) if re.fullmatch(r"r\d+", x)),
                    key=lambda x: int(x[1:])) if os.path.isdir(base) else []
    runs = [(int(x[1:]), one(os.path.join(base, x), name, clk, ncpu)) for x in rounds]
    if not runs:
        return {"error": "not run"}
    ok = [(k, r) for k, r in runs if "mbps" in r.get("tcp1", {})]
    k, best = max(ok, key=lambda kr: kr[1]["tcp1"]["mbps"]) if ok else runs[0]
    best = dict(best)
    best["best_round"] = k
    best["rounds"] = [{
        "round": k2,
        "error": r.get("error"),
        "tcp1_mbps": r.get("tcp1", {}).get("mbps"),
        "tcp4_mbps": r.get("tcp4", {}).get("mbps"),
        "udp64_rx_pps": r.get("udp64", {}).get("rx_pps"),
        "ping_avg_ms": (r.get("ping") or {}).get("avg_ms"),
        "tcp1_vpn_cores": r.get("tcp1", {}).get("vpn_cores"),
        "tcp1_machine_busy_cores": r.get("tcp1", {}).get("machine_busy_cores"),
        "tcp1_outside_cores": r.get("tcp1", {}).get("outside_cores"),
    } for k2, r in runs]
    return best


def summarize_endpoint(results, s):
    """Issue 15's targets: ping, UDP 64 B, idle CPU and RSS per endpoint."""
    ip = results.get("ipop", {})
    for tag, field in (("ping", "avg_ms"), ("ping_median", "median_ms")):
        pings = {n: results[n]["ping"][field] for n in PEERS
                 if n in results and (results[n].get("ping") or {}).get(field)}
        mine = (ip.get("ping") or {}).get(field)
        if pings and mine:
            best = min(pings, key=pings.get)
            s[tag] = {"ipop_ms": mine, "best_peer": best, "best_peer_ms": pings[best],
                      "ratio": round(mine / pings[best], 3), "met": mine <= pings[best]}
    udp = {n: results[n]["udp64"]["rx_pps"] for n in PEERS
           if n in results and "rx_pps" in results[n].get("udp64", {})}
    mine = ip.get("udp64", {}).get("rx_pps")
    if udp and mine is not None:
        best = max(udp, key=udp.get)
        s["udp64"] = {"ipop_pps": mine, "best_peer": best, "best_peer_pps": udp[best],
                      "ratio": round(mine / udp[best], 3) if udp[best] else None,
                      "met": mine >= udp[best]}
    idle = ip.get("idle", {}).get("vpn_cores")
    if idle is not None:
        s["idle_cores_per_endpoint"] = {"ipop": round(idle / 2, 4),
                                        "peers": {n: round(results[n]["idle"]["vpn_cores"] / 2, 4)
                                                  for n in PEERS if "vpn_cores" in
                                                  results.get(n, {}).get("idle", {})},
                                        "target": ENDPOINT_IDLE_CORES,
                                        "met": idle / 2 <= ENDPOINT_IDLE_CORES}
    rss = ip.get("tcp1", {}).get("rss_kb")
    if rss:
        s["rss_mib_per_endpoint"] = {"ipop": round(rss / 2 / 1024, 1), "target": ENDPOINT_RSS_MIB,
                                     "met": rss / 2 / 1024 <= ENDPOINT_RSS_MIB,
                                     "note": "during TCP 1, the mode the endpoints were run in"}


def summarize(results):
    s = {}
    ip = results.get("ipop", {})
    for tag in ("tcp1", "tcp4"):
        peers = {n: results[n][tag]["mbps"] for n in PEERS
                 if n in results and "mbps" in results[n].get(tag, {})}
        mine = ip.get(tag, {}).get("mbps")
        if not peers or mine is None:
            continue
        best = max(peers, key=peers.get)
        ratio = mine / peers[best] if peers[best] else None
        target = ENDPOINT_TARGETS[tag] if TOPOLOGY == "endpoint" else TARGET_TCP_RATIO
        s[tag] = {"ipop_mbps": mine, "best_peer": best, "best_peer_mbps": peers[best],
                  "ratio": round(ratio, 3) if ratio else None,
                  "target_ratio": target,
                  "met": bool(ratio and ratio >= target)}
    if TOPOLOGY == "endpoint":
        summarize_endpoint(results, s)
    peers = {n: results[n]["tcp1"]["vpn_cores_per_gbps"] for n in PEERS
             if n in results and "vpn_cores_per_gbps" in results[n].get("tcp1", {})}
    tb = {n: results[n]["tcp1"]["testbed_cores_per_gbps"] for n in results
          if "testbed_cores_per_gbps" in results[n].get("tcp1", {})}
    if tb:
        s["testbed_cores_per_gbps"] = tb
    mine = ip.get("tcp1", {}).get("vpn_cores_per_gbps")
    if peers and mine is not None:
        low = min(peers, key=peers.get)
        s["cpu_per_gbps"] = {"ipop": mine, "peers": peers, "lowest_peer": low,
                             "lowest_peer_value": peers[low],
                             "ratio_to_lowest": round(mine / peers[low], 3) if peers[low] else None,
                             "met": mine <= peers[low]}
    return s


def fmt(v, nd=0):
    if v is None:
        return "–"
    return f"{v:,.{nd}f}" if isinstance(v, (int, float)) else str(v)


def markdown(doc):
    m = doc["machine"]
    lines = []
    lines.append(f"Run {m.get('date', '?')} on {m.get('cpu', '?')}, {m.get('ncpu', '?')} vCPU, "
                 f"kernel {m.get('kernel', '?')}; load average {m.get('loadavg_start', '?')} at "
                 f"the start, {m.get('loadavg_end', '?')} at the end (the 2 vCPUs are shared). "
                 f"iperf3 {m.get('secs', '?')} s per test, host MTU {m.get('mtu', '?')}, "
                 f"{m.get('rounds', '1')} round(s) in alternating order: each row is the "
                 f"candidate's best TCP 1 round (all rounds in the JSON). CPU and memory are "
                 f"summed over both gateways' VPN processes.")
    lines.append("")
    lines.append("| candidate | hosts are | data crypto | TCP 1 stream Mbit/s | (each round) "
                 "| TCP 4 streams Mbit/s | UDP 64 B rx kpps (loss) | ping avg / median ms "
                 "| VPN CPU cores (TCP 1) | VPN cores per Gbit/s | machine busy cores (TCP 1) "
                 "| other users' cores (TCP 1) | VPN RSS MiB |")
    lines.append("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, r in doc["results"].items():
        if "error" in r and "tcp1" not in r:
            lines.append(f"| {name} | {r.get('mode') or '–'} | {r.get('cipher') or '–'} "
                         f"| failed: {r['error']} | | | | | | | | | |")
            continue
        t1, t4, u = r.get("tcp1", {}), r.get("tcp4", {}), r.get("udp64", {})
        ping = (r.get("ping") or {}).get("avg_ms")
        med = (r.get("ping") or {}).get("median_ms")
        udp = "–"
        if "rx_pps" in u:
            udp = f"{u['rx_pps'] / 1000:.1f} ({u['loss_pct']:.0f}%)"
        cores = t1.get("vpn_cores") if not name.startswith("plain") else None
        each = " / ".join(fmt(x["tcp1_mbps"]) for x in r.get("rounds", []))
        rss = t1.get("rss_kb")
        lines.append(
            f"| {name} | {r.get('mode', '')} | {r.get('cipher', '')} "
            f"| {fmt(t1.get('mbps', t1.get('error')))} | {each} "
            f"| {fmt(t4.get('mbps', t4.get('error')))} "
            f"| {udp} | {fmt(ping, 3)} / {fmt(med, 3)} | {fmt(cores, 2)} "
            f"| {fmt(t1.get('vpn_cores_per_gbps'), 2)} | {fmt(t1.get('machine_busy_cores'), 2)} "
            f"| {fmt(t1.get('outside_cores'), 2)} "
            f"| {fmt(rss / 1024 if rss and not name.startswith('plain') else None, 1)} |")
    s = doc["summary"]
    lines.append("")
    for tag, label in (("tcp1", "TCP 1 stream"), ("tcp4", "TCP 4 streams")):
        if tag in s:
            x = s[tag]
            tr = x.get("target_ratio", TARGET_TCP_RATIO)
            verdict = "met" if x["met"] else \
                f"missed (needs {tr / x['ratio']:.2f}x more)" if x["ratio"] else "missed"
            lines.append(f"- {label}: ipop {fmt(x['ipop_mbps'])} Mbit/s, best peer "
                         f"{x['best_peer']} {fmt(x['best_peer_mbps'])} Mbit/s: ratio "
                         f"**{x['ratio']:.2f}x** (target ≥ {tr}x): **{verdict}**.")
    if "ping" in s:
        x = s["ping"]
        lines.append(f"- Ping RTT: ipop {x['ipop_ms']:.3f} ms, best peer {x['best_peer']} "
                     f"{x['best_peer_ms']:.3f} ms: ratio {x['ratio']:.2f} (target ≤ 1): "
                     f"**{'met' if x['met'] else 'missed'}**.")
    if "ping_median" in s:
        x = s["ping_median"]
        lines.append(f"- Ping RTT, medians: ipop {x['ipop_ms']:.3f} ms, best peer {x['best_peer']} "
                     f"{x['best_peer_ms']:.3f} ms: ratio {x['ratio']:.2f} "
                     f"({'no worse' if x['met'] else 'worse'}).")
    if "udp64" in s:
        x = s["udp64"]
        lines.append(f"- UDP 64 B received: ipop {x['ipop_pps'] / 1000:.1f} kpps, best peer "
                     f"{x['best_peer']} {x['best_peer_pps'] / 1000:.1f} kpps: ratio "
                     f"{fmt(x['ratio'], 2)} (target ≥ 1): **{'met' if x['met'] else 'missed'}**.")
    if "idle_cores_per_endpoint" in s:
        x = s["idle_cores_per_endpoint"]
        peers = ", ".join(f"{k} {v:.4f}" for k, v in sorted(x["peers"].items(), key=lambda kv: kv[1]))
        lines.append(f"- Idle CPU per endpoint (5 s, keepalives running): ipop {x['ipop']:.4f} "
                     f"core (target ≤ {x['target']}): **{'met' if x['met'] else 'missed'}**; "
                     f"{peers}.")
    if "rss_mib_per_endpoint" in s:
        x = s["rss_mib_per_endpoint"]
        lines.append(f"- ipopd resident memory per endpoint: {x['ipop']} MiB (target ≤ "
                     f"{x['target']} MiB): **{'met' if x['met'] else 'missed'}**.")
    if "cpu_per_gbps" in s:
        x = s["cpu_per_gbps"]
        verdict = "met" if x["met"] else f"missed ({x['ratio_to_lowest']:.2f}x the lowest)"
        peers = ", ".join(f"{k} {v:.2f}" for k, v in sorted(x["peers"].items(), key=lambda kv: kv[1]))
        lines.append(f"- VPN CPU per Gbit/s (TCP 1 stream, cores per Gbit/s): ipop {x['ipop']:.2f}; "
                     f"{peers}. Target ≤ every peer: **{verdict}**.")
    if "testbed_cores_per_gbps" in s:
        lines.append("- Cross-check, whole testbed (machine busy cores less other users', so the "
                     "hosts' iperf3 and all kernel work count) per Gbit/s, TCP 1: "
                     + ", ".join(f"{k} {v:.2f}" for k, v in
                                 sorted(s["testbed_cores_per_gbps"].items(), key=lambda kv: kv[1]))
                     + ".")
    ip = doc["results"].get("ipop", {}).get("tcp1", {})
    if ip.get("ipop"):
        parts = []
        for gw, v in ip["ipop"].items():
            parts.append(f"{gw}: busy_pct {v['busy_pct_since_start']:.1f}% (since start), "
                         f"{v['productive_poll_pct']}% of polls found packets in the window, "
                         f"{v['sleeps']} idle sleeps")
        lines.append("- ipop workers during TCP 1: " + "; ".join(parts) + ".")
        ns = doc["results"]["ipop"].get("ping_without_idle_backoff") or {}
        if "avg_ms" in ns:
            lines.append(f"- ipop ping with the workers' idle back-off off "
                         f"(idle_sleep_max_us = 0, pure polling): avg {ns['avg_ms']:.3f} ms.")
        tc = ip.get("thread_cores", {})
        if tc:
            lines.append("- ipopd CPU by thread during TCP 1 (cores, both gateways): "
                         + ", ".join(f"{k} {v:.2f}" for k, v in tc.items()) + ".")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", help="raw results directory of compare_vpns.sh")
    ap.add_argument("--order", help="candidates, space-separated, as run")
    ap.add_argument("--rerender", metavar="JSON",
                    help="recompute the derived numbers and the table from an earlier JSON")
    ap.add_argument("--json")
    ap.add_argument("--md")
    ap.add_argument("--topology", choices=("bridged", "endpoint"), default=None)
    a = ap.parse_args()
    global TOPOLOGY
    if a.rerender:
        with open(a.rerender) as f:
            doc = json.load(f)
        TOPOLOGY = a.topology or doc["machine"].get("topology", "bridged")
        for r in doc["results"].values():
            for tag in TESTS:
                if tag in r:
                    derive(r[tag])
        doc["summary"] = summarize(doc["results"])
        return emit(doc, a)
    if not a.results or not a.order:
        ap.error("--results and --order are required (or --rerender)")
    machine, multi = read_kv(os.path.join(a.results, "machine"))
    TOPOLOGY = a.topology or machine.get("topology", "bridged")
    machine.pop("version", None)
    machine["versions"] = dict(v.split(" ", 1) for v in multi.get("version", []))
    clk = int(machine.get("clk_tck", 100))
    ncpu = int(machine.get("ncpu", os.cpu_count() or 1))
    results = {n: candidate(a.results, n, clk, ncpu) for n in a.order.split()}
    doc = {"benchmark": "compare_vpns", "machine": machine,
           "command": machine.get("command"), "results": results,
           "summary": summarize(results)}
    return emit(doc, a)


def emit(doc, a):
    md = markdown(doc)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""nat_relay_diag_sum.py DIR/TAG : the deltas between DIR/TAG/before and
DIR/TAG/after of bench/nat_relay_diag.sh: drop-like nstat counters per
namespace, interface packets and errors, the gateways' dataplane and port
counters, coturn's CPU ticks per thread, softnet drops, the machine's busy
share, the busiest threads, and the ticks of this run's own processes."""
import glob, json, os, re, sys

d = sys.argv[1]
b, a = os.path.join(d, "before"), os.path.join(d, "after")


def nstat(p):
    r = {}
    for line in open(p):
        f = line.split()
        if len(f) >= 2 and f[1].isdigit():
            r[f[0]] = int(f[1])
    return r


def links(p):
    # ip -s -s link: name, then RX: line, values, RX errors line, values, TX...
    r = {}
    name = None
    lines = open(p).read().splitlines()
    for i, l in enumerate(lines):
        m = re.match(r"^\d+: ([^:@]+)", l)
        if m:
            name = m.group(1)
            continue
        s = l.strip()
        if s.startswith("RX:") or s.startswith("TX:"):
            keys = s.replace(":", "").split()
            vals = lines[i + 1].split()
            kind = keys[0]
            for k, v in zip(keys[1:], vals):
                r[f"{name}.{kind}.{k}"] = int(v)
        if s.startswith("RX errors:") or s.startswith("TX errors:"):
            keys = s.replace(":", "").split()[2:]
            vals = lines[i + 1].split()
            kind = s[:2]
            for k, v in zip(keys, vals):
                r[f"{name}.{kind}.err.{k}"] = int(v)
    return r


def flat(o, pre=""):
    r = {}
    if isinstance(o, dict):
        for k, v in o.items():
            r.update(flat(v, f"{pre}{k}."))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            r.update(flat(v, f"{pre}{i}."))
    elif isinstance(o, (int, float)) and not isinstance(o, bool):
        r[pre[:-1]] = o
    return r


def delta(x, y, only=None):
    out = {}
    for k, v in y.items():
        dv = v - x.get(k, 0)
        if dv and (only is None or re.search(only, k)):
            out[k] = dv
    return out


for p in sorted(glob.glob(os.path.join(a, "nstat.*"))):
    ns = p.split("nstat.")[1]
    dd = delta(nstat(os.path.join(b, "nstat." + ns)), nstat(p),
               r"Drop|Err|Discard|Retrans|Lost|Reasm|Frag|Prune|Collapse|Backlog|OFO|Reorder|Timeout|Ignored|Loss|Recovery|SACK|Fail|Overflow")
    if dd:
        print(ns, "nstat", dd)
for p in sorted(glob.glob(os.path.join(a, "link.*"))):
    ns = p.split("link.")[1]
    dd = delta(links(os.path.join(b, "link." + ns)), links(p), r"drop|err|missed|over")
    pk = delta(links(os.path.join(b, "link." + ns)), links(p), r"packets")
    print(ns, "link pkts", pk, "errs", dd if dd else "")
for p in sorted(glob.glob(os.path.join(a, "show.*.json"))):
    g = p.split("show.")[1]
    x, y = json.load(open(os.path.join(b, "show." + g))), json.load(open(p))
    dd = delta(flat(x), flat(y), r"drop|turn|exc|stun|sock_rx|missed|errors|frag|reasm|ctrl|waits|sleeps|polls|nomem")
    print(g, "show", dd)
ct = {}
for t in ("before", "after"):
    for l in open(os.path.join(d, t, "coturn.tasks")):
        tid, comm, u, s = l.split()
        ct.setdefault(tid, {})[t] = (comm, int(u) + int(s))
print("coturn ticks per thread", {k: (v["after"][0], v["after"][1] - v.get("before", ("", 0))[1]) for k, v in ct.items() if "after" in v and v["after"][1] - v.get("before", ("", 0))[1]})
print("load", open(os.path.join(a, "loadavg")).read().strip())

def softnet(p):
    return [[int(x, 16) for x in l.split()[:3]] for l in open(p)]
sb, sa = softnet(os.path.join(b, "softnet")), softnet(os.path.join(a, "softnet"))
print("softnet per cpu (processed, dropped, squeezed)", [[y - x for x, y in zip(u, v)] for u, v in zip(sb, sa)])
def cpu(p):
    l = open(p).readline().split()[1:]
    v = [int(x) for x in l]
    return sum(v), v[3] + v[4]
(t0, i0), (t1, i1) = cpu(os.path.join(b, "stat")), cpu(os.path.join(a, "stat"))
print("machine busy %.0f %%" % (100 * (1 - (i1 - i0) / (t1 - t0))))

def tasks(p):
    r = {}
    for l in open(p):
        f = l.split(None, 1)
        if len(f) < 2 or ")" not in f[1]:
            continue
        st = f[1]
        comm = st[st.index("(") + 1:st.rindex(")")]
        rest = st[st.rindex(")") + 2:].split()
        pid = f[0].split("/")[2]
        r[f[0]] = (comm, pid, int(rest[11]) + int(rest[12]))
    return r
tb, ta = tasks(os.path.join(b, "tasks")), tasks(os.path.join(a, "tasks"))
rows = []
for k, (comm, pid, v) in ta.items():
    dv = v - tb.get(k, (0, 0, 0))[2] if k in tb else v
    if dv > 5:
        cmd = ""
        try:
            cmd = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")[:60]
        except OSError:
            pass
        rows.append((dv, comm, k.split("/")[-1], cmd))
tot = sum(r[0] for r in rows)
print("threads (ticks):", tot, "; ".join(f"{r[1]}[{r[2]}] {r[0]} {r[3]}" for r in sorted(rows, reverse=True)[:25]))
def cpu2(p):
    l = open(p).readline().split()[1:]
    return [int(x) for x in l]
c0, c1 = cpu2(os.path.join(b, "stat")), cpu2(os.path.join(a, "stat"))
names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
print("machine ticks", {n: y - x for n, x, y in zip(names, c0, c1)})

pids = dict(x.split("=") for x in open(os.path.join(d, "..", "pids")).read().split())
ips = open(os.path.join(d, "iperf_server_pid")).read().strip()
def ours(k):
    pid = k.split("/")[2]
    for n, v in pids.items():
        if v == pid:
            return n
    if pid == ips:
        return "iperf3-server"
    return None
agg = {}
for k, (comm, pid, v) in ta.items():
    n = ours(k)
    if n is None:
        continue
    dv = v - tb[k][2] if k in tb else v
    key = f"{n}:{comm}"
    agg[key] = agg.get(key, 0) + dv
print("ours (ticks)", {k: v for k, v in sorted(agg.items()) if v})

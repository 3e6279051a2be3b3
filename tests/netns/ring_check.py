#!/usr/bin/env python3
"""ring_check.py - judge a live symphony ring from snapshots of its gateways, for
test_ring.sh and bench/ring_up.sh (Python stdlib only).

A snapshot directory holds, per gateway label L, L.show.json (`ipopctl show
--json`) and L.topo.json (`ipopctl topology --json`) (tests/netns/ring.sh's
snap takes them from all gateways at once). The expected ring is computed here, independently of the daemon,
from the node IDs of the gateways given as alive.

  ring_check.py check DIR --alive 1,2,3 [--params L:s:k:maxin,...] [--json OUT]
                [--part all|ring|consistency] [--cap-note]
      exit 0 iff (--part ring: the first list; consistency: the second; all:
      both), for every alive gateway X:
      - its policy places exactly the other alive gateways on the ring;
      - successors_wanted is its s, and `successors` are exactly the s next
        node IDs clockwise among the alive gateways, in ring order, all up;
      - long_links_wanted is the k it must use (configured, or round(log2 n_est)
        with n_est computed here as the daemon documents it, capped at n-1-s),
        and `long` has at most that many entries;
      - max_incoming_long is its cap (configured, or 2 round(log2 n_est)), and
        the links it holds only because a member asked for a long link
        (`incoming_only` with their_type long) are at most that cap (with
        --cap-note only noted: the cap follows the node's size estimate, and
        links accepted under a larger cap stay when a roster change lowers it);
      - every listed member is alive and up, and the links the link manager
        holds connected are exactly successors + long + static + ondemand +
        incoming_only, each with the type of its list;
      and across gateways (consistency): if X lists Y as an outgoing link of
      type T, Y's link to X is connected with remote_type T, and every
      remote_type Y holds for X is X's current wish.
      Prints one line per gateway and every problem found. s defaults to 2,
      k and maxin to 0 (automatic). --json writes the per-gateway summary.
      --ghost L,...: gateways that are gone (killed, or cut off) while the XMPP
      server still lists them. A gateway that never had a link to a ghost has
      no way to know, so it may still place it on the ring (members_on_ring
      one more, the size estimate and k computed with it); it must never list
      it, and it must not be one of its successors (that link would have
      failed and the ghost been held off the ring).

  ring_check.py join BEFORE AFTER --alive 1,..,N --new L --elapsed S
      exit 0 iff the join of L (snapshots of a converged ring before and after)
      closed or renegotiated no link it did not replace: every pre-existing
      link between old gateways that is no longer connected, or was connected
      again since (its `connects` moved), must be explained by each wish that
      held it ending for a reason the join gives: a successor pushed out of the
      s nearest by the newcomer, or a long link redrawn (the size estimate it
      was drawn for is stale: the builder closes it and draws again, which may
      land on the same member and make the link again). Every successor link
      of a gateway whose successor set did not change must have stayed
      connected the whole time (connects unchanged on both ends, in_state_s
      grown by the time between the snapshots). Also prints the link messages
      the join cost (sum of link_counters.sent over every gateway).

  ring_check.py msgs BEFORE AFTER --alive ...   link messages sent between two
      snapshots, summed over the gateways in both.
"""
import argparse
import json
import math
import os
import sys

RING = 1 << 128
OUT_TYPES = (("successors", "successor"), ("long", "long"), ("static", "static"),
             ("ondemand", "ondemand"))


def load(d, label):
    with open(os.path.join(d, "%s.show.json" % label)) as f:
        show = json.load(f)
    with open(os.path.join(d, "%s.topo.json" % label)) as f:
        topo = json.load(f)
    return show, topo


def short(jid):
    """gw-3@ipop.test -> 3 (the site label), else the JID."""
    local = jid.split("@")[0]
    return local[3:] if local.startswith("gw-") else jid


def estimate_n(self_id, others, w):
    """ipop_sym_estimate_n: exact when at most 2w peers, else (2w-1)/span."""
    m = len(others)
    if m <= 2 * w:
        return float(m + 1)
    ring = sorted(others, key=lambda x: (x - self_id) % RING)
    hi = ring[w - 1]
    lo = ring[m - w]
    span = ((hi - lo) % RING) / float(RING)
    if span <= 0:
        return float(m + 1)
    return max(1.0, (2.0 * w - 1.0) / span)


def lround(x):
    return int(math.floor(x + 0.5))


def k_auto(n_est):
    r = lround(math.log2(max(n_est, 1.0)))
    return max(1, min(r, 128))


def parse_params(text, labels):
    par = {l: {"s": 2, "k": 0, "maxin": 0} for l in labels}
    for item in (text or "").split(","):
        if not item:
            continue
        f = item.split(":")
        l = f[0]
        if l not in par:
            continue
        for key, v in zip(("s", "k", "maxin"), f[1:]):
            if v != "":
                par[l][key] = int(v)
    return par


def links_of(show):
    return {x["member"]: x for x in show.get("links", [])}


def ghosts(a, snap, jid):
    """{bare JID: node ID} of the --ghost gateways, from any alive gateway's
    member list."""
    out = {}
    for g in [x for x in (a.ghost or "").split(",") if x]:
        want = "gw-%s@" % g
        found = None
        for show, _ in snap.values():
            for mb in show.get("signalling", {}).get("members", []):
                if mb.get("jid", "").startswith(want) and mb.get("node_id"):
                    found = (mb["jid"].split("/")[0], int(mb["node_id"], 16))
        if found is None:
            raise SystemExit("ghost gw-%s: no alive gateway knows its node ID" % g)
        out[found[0]] = found[1]
    return out


def cmd_check(a):
    alive = [x for x in a.alive.split(",") if x]
    par = parse_params(a.params, alive)
    snap = {l: load(a.dir, l) for l in alive}
    problems = []
    notes = []
    summary = {}
    jid = {}
    ids = {}
    for l in alive:
        show, topo = snap[l]
        nid = topo.get("node_id")
        sid = show.get("signalling", {}).get("node_id")
        if nid is None or nid != sid:
            problems.append("gw-%s: topology node_id %s != signalling node_id %s" % (l, nid, sid))
        ids[l] = int(nid or "0", 16)
        jid[l] = show.get("signalling", {}).get("jid", "").split("/")[0]
    by_jid = {jid[l]: l for l in alive}
    ghost_ids = ghosts(a, snap, jid)
    n = len(alive)
    for x in alive:
        show, topo = snap[x]
        p = par[x]
        s = p["s"]
        others = sorted((l for l in alive if l != x), key=lambda l: (ids[l] - ids[x]) % RING)
        m = len(others)
        bad = lambda msg: problems.append("gw-%s: %s" % (x, msg))
        if topo.get("policy") != "symphony":
            bad("policy is %s, not symphony" % topo.get("policy"))
        # Ghosts this gateway may still place: those it does not hold off
        # the ring (it never had a failing link to them), unless it has seen
        # them leave the overlay altogether.
        held = {e["member"] for e in topo.get("held_off_ring", [])}
        maybe = [i for j, i in ghost_ids.items() if j not in held]
        placed_ghosts = maybe if topo.get("members_on_ring") == m + len(maybe) else []
        m_est = m + len(placed_ghosts)
        if topo.get("members_on_ring") != m_est:
            # Name whom it holds off the ring and why its link to them ended:
            # a hold lasts 30 s and more, longer than some convergence waits.
            links = links_of(show)
            why = ["%s (%.0f s left; link %s: %s)" % (
                short(e["member"]), e.get("seconds_left", 0),
                links.get(e["member"], {}).get("state", "gone"),
                links.get(e["member"], {}).get("last_error"))
                for e in topo.get("held_off_ring", [])]
            bad("members_on_ring %s, expected %d%s%s" % (topo.get("members_on_ring"), m,
                " (or %d with the ghosts it does not hold)" % (m + len(maybe)) if maybe else "",
                "; held off the ring: " + ", ".join(why) if why else ""))
        if topo.get("successors_wanted") != s:
            bad("successors_wanted %s, expected s=%d" % (topo.get("successors_wanted"), s))
        exp_succ = [jid[l] for l in others[:min(s, m)]]
        got_succ = [e["member"] for e in topo.get("successors", [])]
        if got_succ != exp_succ:
            bad("successors %s, expected %s" % ([short(j) for j in got_succ],
                                               [short(j) for j in exp_succ]))
        w = max(s, 8)
        n_est = estimate_n(ids[x], [ids[l] for l in others] + placed_ghosts, w)
        kraw = p["k"] if p["k"] else k_auto(n_est)
        k = min(kraw, m_est - s) if m_est > s else 0
        maxin = p["maxin"] if p["maxin"] else 2 * kraw
        if abs(topo.get("estimated_n", -1) - n_est) > 1e-6 * max(1.0, n_est):
            bad("estimated_n %s, computed %.6f" % (topo.get("estimated_n"), n_est))
        if topo.get("long_links_wanted") != k:
            bad("long_links_wanted %s, expected k=%d" % (topo.get("long_links_wanted"), k))
        nlong = len(topo.get("long", []))
        if nlong > k:
            bad("%d long links, more than k=%d" % (nlong, k))
        if topo.get("max_incoming_long") != maxin:
            bad("max_incoming_long %s, expected %d" % (topo.get("max_incoming_long"), maxin))
        inc = topo.get("incoming_only", [])
        inc_long = [e for e in inc if e.get("their_type") == "long"]
        if len(inc_long) > maxin:
            msg = "%d incoming-only long links, over the cap %d" % (len(inc_long), maxin)
            if a.cap_note:
                notes.append("gw-%s: %s (n_est %.2f)" % (x, msg, n_est))
            else:
                bad(msg)
        union = {}
        for key, tname in OUT_TYPES + (("incoming_only", "none"),):
            for e in topo.get(key, []):
                if e["member"] in union:
                    bad("%s listed twice" % e["member"])
                union[e["member"]] = (key, tname)
                if e["member"] not in by_jid:
                    bad("%s lists %s, not an alive gateway" % (key, e["member"]))
                if not e.get("up"):
                    bad("%s entry %s is not up" % (key, short(e["member"])))
        lk = links_of(show)
        connected = {j for j, v in lk.items() if v["state"] == "connected"}
        if connected != set(union):
            bad("connected links %s != policy lists %s" % (sorted(short(j) for j in connected),
                                                            sorted(short(j) for j in union)))
        for j, (key, tname) in union.items():
            if j in lk and lk[j]["type"] != tname:
                bad("link to %s has type %s, listed in %s" % (short(j), lk[j]["type"], key))
        summary[x] = {
            "node_id": topo.get("node_id"), "s": s, "k": k, "max_incoming_long": maxin,
            "estimated_n": topo.get("estimated_n"),
            "successors": [short(e["member"]) for e in topo.get("successors", [])],
            "long": [short(e["member"]) for e in topo.get("long", [])],
            "static": [short(e["member"]) for e in topo.get("static", [])],
            "incoming_only": ["%s(%s)" % (short(e["member"]), e.get("their_type"))
                              for e in inc],
            "links_connected": len(connected),
            "links": [{"peer": short(j), "type": v["type"], "remote_type": v["remote_type"],
                       "why": v.get("why"), "state": v["state"]}
                      for j, v in sorted(lk.items()) if v["state"] == "connected"],
        }
    # Consistency: what X wants of Y is what Y believes X wants.
    ring_problems, problems = problems, []
    for x in alive:
        show, topo = snap[x]
        wish = {}
        for key, tname in OUT_TYPES:
            for e in topo.get(key, []):
                wish[e["member"]] = tname
        for y in alive:
            if y == x:
                continue
            ylk = links_of(snap[y][0]).get(jid[x])
            t = wish.get(jid[y])
            if t is not None:
                if ylk is None or ylk["state"] != "connected":
                    problems.append("gw-%s wants a %s link to gw-%s, whose link to gw-%s is %s"
                                    % (x, t, y, x, ylk["state"] if ylk else "absent"))
                elif ylk["remote_type"] != t:
                    problems.append("gw-%s wants a %s link to gw-%s, which believes it is %s"
                                    % (x, t, y, ylk["remote_type"]))
            elif ylk is not None and ylk["state"] == "connected" and ylk["remote_type"] != "none":
                problems.append("gw-%s believes gw-%s wants a %s link, but gw-%s lists none"
                                % (y, x, ylk["remote_type"], x))
    for x in alive:
        r = summary.get(x)
        if r:
            print("gw-%s %s.. s=%d k=%d maxin=%d n_est=%.1f succ=%s long=%s static=%s in=%s links=%d"
                  % (x, r["node_id"][:8], r["s"], r["k"], r["max_incoming_long"],
                     r["estimated_n"] or 0, ",".join(r["successors"]), ",".join(r["long"]),
                     ",".join(r["static"]), ",".join(r["incoming_only"]),
                     r["links_connected"]))
    cons_problems = problems
    problems = {"ring": ring_problems, "consistency": cons_problems,
                "all": ring_problems + cons_problems}[a.part]
    for nt in notes:
        print("NOTE " + nt)
    for pr in problems:
        print("PROBLEM " + pr)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": n, "converged": not problems, "problems": problems,
                       "notes": notes, "nodes": summary}, f, indent=1, sort_keys=True)
    return 0 if not problems else 1


def lists(topo):
    return {key: [e["member"] for e in topo.get(key, [])] for key, _ in OUT_TYPES}


def drawn_for(topo, member):
    """The estimate a long link was drawn for, from its why ("... (drawn for n=8)")."""
    for e in topo.get("long", []):
        if e["member"] == member:
            w = e.get("why") or ""
            return w[w.rfind("n="):].rstrip(")") if "n=" in w else w
    return None


def sent(show):
    return show.get("link_counters", {}).get("sent", 0)


def cmd_msgs(a):
    alive = [x for x in a.alive.split(",") if x]
    total = 0
    for l in alive:
        after = load(a.after, l)[0]
        before = 0
        if os.path.exists(os.path.join(a.before, "%s.show.json" % l)):
            before = sent(load(a.before, l)[0])
        total += sent(after) - before
    print(total)
    return 0


def cmd_join(a):
    old = [x for x in a.alive.split(",") if x]
    bef = {l: load(a.before, l) for l in old}
    aft = {l: load(a.after, l) for l in old + [a.new]}
    jid = {l: aft[l][0]["signalling"]["jid"].split("/")[0] for l in aft}
    newj = jid[a.new]
    problems = []
    notes = []

    def wish_before_ended_ok(x, y):
        """x's wish for y (before) ended for a reason the join gives: (ok, why)."""
        lb, la = lists(bef[x][1]), lists(aft[x][1])
        jy = jid[y]
        if jy in lb["successors"]:
            if jy in la["successors"]:
                return False, "still a successor of gw-%s" % x
            if newj in la["successors"] and newj not in lb["successors"]:
                return True, "gw-%s's successor pushed out by the newcomer" % x
            return False, "gw-%s dropped successor gw-%s without the newcomer replacing it" % (x, y)
        if jy in lb["long"]:
            if jy in la["long"]:
                wb, wa = drawn_for(bef[x][1], jy), drawn_for(aft[x][1], jy)
                if wb != wa:
                    return True, ("gw-%s redrew its long link to gw-%s (drawn for %s, now %s: "
                                  "the draw landed on it again)" % (x, y, wb, wa))
                return False, "still the same long link of gw-%s" % x
            return True, "gw-%s redrew its long link to gw-%s" % (x, y)
        if jy in lb["static"] or jy in lb["ondemand"]:
            return False, "gw-%s dropped a static/on-demand link to gw-%s" % (x, y)
        return True, "gw-%s held it for gw-%s only" % (x, y)

    seen = set()
    for x in old:
        lkb, lka = links_of(bef[x][0]), links_of(aft[x][0])
        for y in old:
            if y == x or (y, x) in seen:
                continue
            b = lkb.get(jid[y])
            if b is None or b["state"] != "connected":
                continue
            seen.add((x, y))
            af = lka.get(jid[y])
            still = af is not None and af["state"] == "connected"
            if still and af["connects"] == b["connects"] and \
                    af["in_state_s"] >= b["in_state_s"] + int(a.elapsed) - 1:
                continue
            # Closed, or closed and made again (a new wish, e.g. a long link
            # drawn to a member that just stopped being a successor).
            what = "closed and made again (connects %d -> %d)" % (b["connects"], af["connects"]) \
                if still else "closed (%s)" % (af["state"] if af else "gone")
            oks = [wish_before_ended_ok(x, y), wish_before_ended_ok(y, x)]
            if all(ok for ok, _ in oks):
                notes.append("link gw-%s-gw-%s %s: %s; %s" % (x, y, what, oks[0][1], oks[1][1]))
            else:
                problems.append("link gw-%s-gw-%s %s without the join replacing it: %s"
                                % (x, y, what, "; ".join(w for ok, w in oks if not ok)))
    unchanged = 0
    for x in old:
        sb, sa = lists(bef[x][1])["successors"], lists(aft[x][1])["successors"]
        if sb != sa:
            notes.append("gw-%s: successors %s -> %s" % (x, [short(j) for j in sb],
                                                         [short(j) for j in sa]))
            continue
        unchanged += 1
        for j in sb:
            y = short(j)
            for u, v in ((x, j), (y, jid[x])):
                b = links_of(bef[u][0]).get(v)
                af = links_of(aft[u][0]).get(v)
                if b is None or af is None or af["state"] != "connected" or \
                        af["connects"] != b["connects"] or \
                        af["in_state_s"] < b["in_state_s"] + int(a.elapsed) - 1:
                    problems.append("gw-%s (successors unchanged): link gw-%s->%s did not stay "
                                    "connected: before %s, after %s" % (
                                        x, u, short(v),
                                        b and (b["state"], b["connects"], b["in_state_s"]),
                                        af and (af["state"], af["connects"], af["in_state_s"])))
    msgs = sum(sent(aft[l][0]) for l in aft) - sum(sent(bef[l][0]) for l in old)
    for nt in notes:
        print("NOTE " + nt)
    for pr in problems:
        print("PROBLEM " + pr)
    print("gateways with unchanged successors: %d of %d" % (unchanged, len(old)))
    print("link messages for the join: %d" % msgs)
    return 0 if not problems else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("dir")
    c.add_argument("--alive", required=True)
    c.add_argument("--params")
    c.add_argument("--json")
    c.add_argument("--part", choices=("all", "ring", "consistency"), default="all")
    c.add_argument("--cap-note", action="store_true")
    c.add_argument("--ghost")
    j = sub.add_parser("join")
    j.add_argument("before")
    j.add_argument("after")
    j.add_argument("--alive", required=True)
    j.add_argument("--new", required=True)
    j.add_argument("--elapsed", type=float, default=0)
    mm = sub.add_parser("msgs")
    mm.add_argument("before")
    mm.add_argument("after")
    mm.add_argument("--alive", required=True)
    a = p.parse_args()
    return {"check": cmd_check, "join": cmd_join, "msgs": cmd_msgs}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())

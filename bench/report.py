#!/usr/bin/env python3
"""bench/report.py: turn one benchmark run into the Markdown report.

Reads the raw numbers bench/in-cluster.sh wrote (raw.tsv), the endpoint's
access log ($msec $connection $connection_requests $request_length, one line
per request) and facts about the machine (KEY=VALUE lines), and prints the
table: medians over the repetitions, ratios, connections per call, the
throttle's achieved rate and busiest second, the backend's RSS growth, and
in after-commit mode the cost of a DELETE that only queues its calls and the
queue worker's delivery rate, unthrottled and at 50/s.

usage: report.py RAW_TSV ACCESS_LOG MACHINE_FACTS
"""
import statistics
import sys

ROWS = [  # name, label, ratio (numerator, denominator, target or None)
    ("a", "(a) floor: C, libcurl, one connection", None),
    ("b", "(b) SQL function `iai_delete_person_from_group`", ("b", "a", "<= 1.15")),
    ("c", "(c) trigger: `DELETE` of N rows", ("c", "a", "<= 1.3")),
    ("d", "(d) PL/Python: hashlib/hmac + http.client", ("d", "b", ">= 1.7")),
    ("e_c", "(e) signing alone, C: `tc3_sign` + `tc3_authorization` of src/tc3.c", None),
    ("e_py", "(e) signing alone, PL/Python: the whole HMAC chain each call, "
             "per SQL call, no HTTP", None),
    ("g_insert", "(g) for comparison: `INSERT` of M rows, µs per row", None),
    ("g_plain_delete", "(g) for comparison: `DELETE` of M rows, no trigger, µs per row", None),
    ("g_queue_rows", "(g) for comparison: `INSERT` of M rows shaped like `iai_queue`'s "
                     "(what the queueing must write), µs per row",
     ("g_delete", "g_rows_and_delete", None)),
    ("g_delete", "(g) after-commit mode: `DELETE` of M rows, `async` trigger (queues one call "
                 "per row; nothing is sent before the commit), µs per row",
     ("g_delete", "g_insert", "about 1")),
    ("h", "(h) queue worker, `iai.rate_limit = 0`: delivery of the M calls of (g), from the "
          "commit to the last one done", ("h", "a", None)),
]

# how a ratio names its measurements
TAGS = {"g_insert": "g INSERT", "g_delete": "g DELETE",
        "g_rows_and_delete": "g DELETE plain + INSERT queue rows"}

# "about 1" is read as within this factor either way
ABOUT = 1.5


def read_raw(path):
    values, ranges, facts = {}, {}, {}
    for line in open(path, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if f[0] == "m":
            values.setdefault(f[1], []).append(float(f[2]))
            ranges.setdefault(f[1], []).append((int(f[3]), int(f[4])))
        elif f[0] == "f":
            facts[f[1]] = f[2]
    return values, ranges, facts


def requests(log, spans):
    """(msec, connection, connection_requests) of the log's lines in the spans (1-based)."""
    return [log[i - 1] for first, last in spans for i in range(first, last + 1)]


def connections(log, spans):
    reqs = requests(log, spans)
    return len({c for _, c, _ in reqs}), len(reqs)


def busiest_second(times):
    """Most requests in any window [t, t + 1 s), and the window's start."""
    times = sorted(times)
    best, start, j = 0, 0.0, 0
    for i, t in enumerate(times):
        while t - times[j] >= 1.0:
            j += 1
        if i - j + 1 > best:
            best, start = i - j + 1, times[j]
    return best, start


def holds(ratio, target):
    op, bound = target.split()
    if op == "about":
        return float(bound) / ABOUT <= ratio <= float(bound) * ABOUT
    return ratio <= float(bound) if op == "<=" else ratio >= float(bound)


def shown(target):
    if target.startswith("about"):
        return f"{target} (within ×{ABOUT:g})"
    return target.replace("<=", "≤").replace(">=", "≥")


def main():
    values, ranges, facts = read_raw(sys.argv[1])
    log = [(float(f[0]), f[1], int(f[2])) for f in (l.split() for l in open(sys.argv[2]))]
    machine = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[3]) if "=" in l)
    median = {k: statistics.median(v) for k, v in values.items()}
    # what an async DELETE cannot avoid: the DELETE itself and the queue rows
    median["g_rows_and_delete"] = median["g_plain_delete"] + median["g_queue_rows"]
    reps = len(values["a"])
    n, m = machine["N"], machine["M"]

    out = [f"# iai benchmark, {machine['date']}", ""]
    out.append(f"N = {n} calls per repetition, R = {reps} repetitions, interleaved "
               f"(a, b, c, d, e in each round); signing alone: {machine['sign_iterations']} "
               "iterations (C), N calls (PL/Python). Endpoint: nginx on 127.0.0.1, TLS, "
               "HTTP/1.1 keep-alive, fixed 200 answer. Timings of (b), (c), (d) are taken "
               "inside the server; each repetition is a new session, whose first "
               "TLS handshake is included (as it is in the floor's run). "
               f"After-commit mode, R rounds after those: M = {m} rows; (g) is timed by "
               "psql's `\\timing` in one session per round, each statement until its commit "
               "is acknowledged; (h) runs from just after the async `DELETE`'s commit until "
               "the background worker has recorded the last of its M calls done "
               "(`done_at` in `iai_queue`).")
    out += ["", "| measurement | µs/call median | min | max | ratio of medians | target (for context) |",
            "|---|---:|---:|---:|---|---|"]
    for name, label, ratio in ROWS:
        v = values[name]
        cells = [label, f"{median[name]:.1f}", f"{min(v):.1f}", f"{max(v):.1f}", "", ""]
        if name.startswith(("e_", "g_")):
            cells[1:4] = [f"{median[name]:.2f}", f"{min(v):.2f}", f"{max(v):.2f}"]
        if ratio:
            num, den, target = ratio
            r = median[num] / median[den]
            cells[4] = f"({TAGS.get(num, num)})/({TAGS.get(den, den)}) = {r:.2f}"
            if target:
                cells[5] = f"{shown(target)}: " + ("met" if holds(r, target) else "**missed**")
        out.append("| " + " | ".join(cells) + " |")

    out += ["", "**Connections to the endpoint** (distinct nginx `$connection`s / requests):", ""]
    for name, what in (("a", "floor (a)"), ("b", "SQL function (b)"), ("c", "trigger (c)"),
                       ("d", "PL/Python (d)"), ("mem", "one session, memory run below")):
        conns, reqs = connections(log, ranges[name])
        runs = len(ranges[name])
        per = f", {conns / runs:g} per session" if runs > 1 else ""
        out.append(f"- {what}: {conns} connection{'s' * (conns != 1)} for {reqs} calls"
                   f" ({conns / reqs:.5f} per call{per})")
    conns, reqs = connections(log, ranges["h"] + ranges["h50"])
    out.append(f"- queue worker, (h) and at 50/s below: {conns} connection{'s' * (conns != 1)} "
               f"for {reqs} calls ({conns / reqs:.5f} per call)")

    reqs = requests(log, ranges["throttle"])
    times = [t for t, _, _ in reqs]
    t0, span = min(times), max(times) - min(times)
    worst, at = busiest_second(times)
    firsts = [t for t, _, k in reqs if k == 1]     # each opened a connection
    opening = sum(1 for t in firsts if at <= t < at + 1.0)
    per_conn = {}
    for t, c, _ in reqs:
        per_conn.setdefault(c, []).append(t)
    lag = [round((sorted(ts)[1] - min(ts)) * 1000) for ts in per_conn.values() if len(ts) > 1]
    steady, _ = busiest_second([t for t, _, k in reqs if k > 1])
    out += ["", f"**Throttle** (`iai.rate_limit = 50`, 4 concurrent sessions × 75 calls): "
            f"{len(times)} requests in {span:.2f} s at the endpoint = "
            f"{(len(times) - 1) / span:.1f} requests/s; busiest one-second window: "
            f"{worst} requests ({'≤ 50: met' if worst <= 50 else '> 50: **missed**'}), "
            f"starting {at - t0:.3f} s into the run and holding {opening} of the "
            f"{len(firsts)} sessions' first requests (each opened a connection); "
            f"without those first requests the busiest window holds {steady}. "
            f"Each session's second request came {min(lag)}–{max(lag)} ms after its first."]
    if min(lag) < 20.4:
        # one session's consecutive slots are >= 1.02 / 50 s apart
        out[-1] += (f" Slots are ≥ 20.4 ms apart, so a first request reached the endpoint "
                    f"at least {20.4 - min(lag):.0f} ms after its slot: the connection "
                    f"(TCP + TLS) is set up after the slot is taken.")

    # (h): the endpoint saw exactly M requests per delivery (in-cluster.sh
    # insists), each from the worker's connection(s) counted above
    sent = sorted({last - first + 1 for first, last in ranges["h"]})
    h = values["h"]
    reqs = requests(log, ranges["h50"])
    times = [t for t, _, _ in reqs]
    span = max(times) - min(times)
    worst, _ = busiest_second(times)
    conns50 = len({c for _, c, _ in reqs})
    out += ["", f"**Queue worker** (after-commit mode, one background worker): unthrottled, "
            f"it delivered each (g) `DELETE`'s {m} calls in {median['h'] * int(m) / 1e6:.2f} s "
            f"(median; {min(h) * int(m) / 1e6:.2f}–{max(h) * int(m) / 1e6:.2f} s) from the "
            f"commit = {1e6 / median['h']:.0f} calls/s, {median['h']:.0f} µs per call "
            f"({median['h'] / median['a']:.1f}× the floor's), of which the worker process "
            f"itself spent {median['h_cpu']:.0f} µs on the CPU (median); the endpoint logged "
            f"{' or '.join(str(k) for k in sent)} requests for each. "
            f"At `iai.rate_limit = 50`, 500 calls queued in one transaction "
            f"(`iai_enqueue_delete_person_from_group`): {len(times)} requests in {span:.2f} s "
            f"at the endpoint = {(len(times) - 1) / span:.1f} requests/s; busiest one-second "
            f"window: {worst} requests ({'≤ 50: met' if worst <= 50 else '> 50: **missed**'}); "
            f"all done {median['h50'] * 500 / 1e6:.2f} s after the commit, over "
            f"{conns50} connection{'s' * (conns50 != 1)}."]

    before, after = int(facts["rss_before_kib"]), int(facts["rss_after_kib"])
    growth = after - before
    out += ["", f"**Backend memory** (VmRSS of one backend, after 1,000 warm-up calls, "
            f"then 100,000 calls of (b) in 100 statements): {before} KiB → {after} KiB, "
            f"growth {growth} KiB ({'≤ 1 MiB: met' if growth <= 1024 else '> 1 MiB: **missed**'})."]

    out += ["", f"**Signer check:** {facts['signer_check']}.", "",
            f"**Machine:** {machine['nproc']} CPUs, {machine['cpu']}; {machine['kernel']}; "
            f"load average before the run: {machine['load']}.", "",
            f"**Versions:** PostgreSQL {facts['postgresql']}, libcurl {machine['curl']}, "
            f"OpenSSL {machine['openssl']}, nginx {machine['nginx']}, Python {machine['python']}; "
            f"iai.so installed {machine['iai_so']}; source tree {machine['tree']} "
            f"(src/tc3.c of it is linked into the floor and the signing loop).", ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()

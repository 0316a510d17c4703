#!/usr/bin/env python3
"""Recompute a windowed (and optionally keyed) through in plain Python and compare it with what Tubes wrote.

Written from the README's "Windows and keys" section, not from the engine's code. Every window is
recomputed from scratch over the datapoints it holds (no running sums, no queues):

- tumbling and hopping: windows [j*every, j*every + size) aligned to the Unix epoch; each closes (in
  order of its start, keys in the order they were first met, the listed keys first) when a datapoint at
  or after its end arrives, and at the end of the input; windows with no datapoint emit nothing; a row's
  timestamp is the window's end minus 1 ns (written as end - 1 ms);
- sliding: at every datapoint at t, the datapoints of its key in (t - size, t]; window_start and
  window_end are the times of the oldest and newest of them; the row's timestamp is t; a datapoint
  older than the newest of its key is late and emits nothing;
- with --produce OP:FIELD:THRESHOLD, a row is written only when the condition fires, comparing the
  field's value with the previous value computed for the same key.

    python3 tools/check_windows.py --input testdata/binance_spot_BTC_ETH_trades_2024-08-08.csv \\
        --time time --key symbol --keys BTCUSDT,ETHUSDT --tumbling 60 \\
        --reducers vwap:price:quantity,sum:quantity,count --label bins out/binning_per_symbol.csv

Exit status 0 when every row matches (times, keys and counts exactly; other values within a relative
1e-9), 1 otherwise. Uses only the standard library.
"""
import argparse
import csv
import math
import sys
from datetime import datetime, timezone

NS = 1_000_000_000


def to_ns(text):
    """A time cell: unix s, ms, µs or ns by magnitude."""
    v = int(text)
    for limit, scale in ((10**11, NS), (10**14, 10**6), (10**17, 10**3)):
        if abs(v) < limit:
            return v * scale
    return v


def rfc3339_ms(ns):
    ms = ns // 10**6
    d = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def read_input(path, time_col, key_col, start, end):
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            t = to_ns(r[time_col])
            if start is not None and not start <= t < end:
                continue
            out.append((t, r[key_col] if key_col else "", r))
    return out


def reduce(spec, rows):
    """One reducer over a window's rows, as the README defines it."""
    parts = spec.split(":")
    op = parts[0]
    if op == "count":
        return len(rows)
    if op == "vwap":
        pq = sum(float(r[parts[1]]) * float(r[parts[2]]) for r in rows)
        q = sum(float(r[parts[2]]) for r in rows)
        return pq / q if q != 0 else None
    xs = [float(r[parts[1]]) for r in rows]
    if not xs:
        return None
    return {"sum": sum, "first": lambda v: v[0], "last": lambda v: v[-1], "min": min, "max": max,
            "mean": lambda v: sum(v) / len(v)}[op](xs)


def name(spec):
    parts = spec.split(":")
    return parts[0] if parts[0] in ("count", "vwap") else "%s_%s" % (parts[0], parts[1])


def fires(op, before, after, th):
    if after is None:
        return False
    b = before if before is not None else math.nan
    return {"GREATER": after > th, "GREATER_EQUAL": after >= th, "LESS": after < th, "LESS_EQUAL": after <= th,
            "CROSSES": (b < th <= after) or (b > th >= after), "CROSSES_ABOVE": b < th <= after,
            "CROSSES_BELOW": b > th >= after}[op]


def key_order(data, listed):
    order = list(listed)
    for _, k, _ in data:
        if k not in order:
            order.append(k)
    return order


def arriving(data, size, every, reducers, listed):
    """Windows over datapoints taken in the order they arrived (a live run): a window closes when the
    first datapoint at or after its end arrives; one arriving for a window already closed is late (not
    added there); windows still open when the input stops emit nothing (a live run does not close them).
    Returns (rows, late)."""
    order, out, late = list(listed), [], 0
    windows, next_close = {}, None
    for t, k, r in data:
        for j in sorted(windows):
            if j * every + size <= t:
                for key in order:
                    rows = windows[j].get(key)
                    if rows:
                        out.append((j * every + size - 1, key, [reduce(s, rows) for s in reducers],
                                    j * every, j * every + size))
                del windows[j]
        first_open = (t - size) // every + 1
        next_close = first_open if next_close is None else max(next_close, first_open)
        if k not in order:
            order.append(k)
        j_hi = t // every
        j_lo = j_hi - size // every + 1
        if j_lo < next_close:
            late += 1
        for j in range(max(j_lo, next_close), j_hi + 1):
            windows.setdefault(j, {}).setdefault(k, []).append(r)
    return out, late


def buckets(data, size, every, reducers, listed):
    """(timestamp ns, key, values, start, end) for every window with data, in emission order."""
    order = key_order(data, listed)
    windows = {}
    for t, k, r in data:
        j_hi = t // every
        for j in range(j_hi - size // every + 1, j_hi + 1):
            windows.setdefault(j, {}).setdefault(k, []).append(r)
    out = []
    for j in sorted(windows):
        start = j * every
        for k in order:
            rows = windows[j].get(k)
            if rows:
                out.append((start + size - 1, k, [reduce(s, rows) for s in reducers], start, start + size))
    return out


def sliding(data, size, reducers):
    out, held, newest = [], {}, {}
    for t, k, r in data:
        if k in newest and t < newest[k]:
            continue  # late (older than the newest of its key): counted by Tubes, never added
        newest[k] = t
        held.setdefault(k, []).append((t, r))
        window = [(u, x) for u, x in held[k] if u > t - size]
        held[k] = window
        out.append((t, k, [reduce(s, [x for _, x in window]) for s in reducers], window[0][0], t))
    return out


def produce(rows, cond, reducers, key_col):
    op, field, th = cond.split(":")
    names = [name(s) for s in reducers] + ([key_col] if key_col else []) + ["window_start", "window_end"]
    at = names.index(field)
    before, out = {}, []
    for row in rows:
        values = row[2] + ([row[1]] if key_col else []) + [row[3] / 1e6, row[4] / 1e6]
        v = values[at]
        if fires(op, before.get(row[1]), v, float(th)):
            out.append(row)
        before[row[1]] = v
    return out


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def compare(want, path, label, reducers, key_col):
    with open(path, newline="") as f:
        got = [r for r in csv.DictReader(f) if not r.get("status")]
    bad = 0
    if len(got) != len(want):
        print("rows: Tubes wrote %d, the recomputation has %d" % (len(got), len(want)))
        bad += 1
    for i, (g, w) in enumerate(zip(got, want)):
        t, k, values, start, end = w
        problems = []
        if g["timestamp"] != rfc3339_ms(t):
            problems.append("timestamp %s, want %s" % (g["timestamp"], rfc3339_ms(t)))
        if key_col and g["%s.%s" % (label, key_col)] != k:
            problems.append("key %s, want %s" % (g["%s.%s" % (label, key_col)], k))
        for col, ns in (("window_start", start), ("window_end", end)):
            if g["%s.%s" % (label, col)] != rfc3339_ms(ns):
                problems.append("%s %s, want %s" % (col, g["%s.%s" % (label, col)], rfc3339_ms(ns)))
        for spec, v in zip(reducers, values):
            cell = g["%s.%s" % (label, name(spec))]
            x = float(cell) if cell != "" else None
            exact = spec.split(":")[0] in ("count", "first", "last", "min", "max")
            if not (x == v if exact else close(x, v)):
                problems.append("%s %s, want %r" % (name(spec), cell, v))
        if problems:
            bad += 1
            if bad <= 10:
                print("row %d: %s" % (i + 2, "; ".join(problems)))
    return bad


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", help="the CSV Tubes wrote")
    p.add_argument("--input", required=True)
    p.add_argument("--time", required=True, help="the input's time column")
    p.add_argument("--key", help="the key column, when the through is keyed")
    p.add_argument("--keys", default="", help="the keys the config lists, comma-separated")
    p.add_argument("--label", required=True, help="the through's label (column prefix)")
    p.add_argument("--reducers", required=True, help="e.g. vwap:price:quantity,sum:quantity,count")
    p.add_argument("--range", help="Batch range FROM,TO in unix ms")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--tumbling", type=float, help="seconds")
    g.add_argument("--hopping", help="SIZE,EVERY in seconds")
    g.add_argument("--sliding", type=float, help="seconds")
    p.add_argument("--produce", help="OP:FIELD:THRESHOLD")
    p.add_argument("--arrival", action="store_true",
                   help="the input is in arrival order (a live run): late datapoints are left out, and "
                        "windows still open at the end emit nothing")
    a = p.parse_args()
    start = end = None
    if a.range:
        start, end = (int(x) * 10**6 for x in a.range.split(","))
    data = read_input(a.input, a.time, a.key, start, end)
    reducers = a.reducers.split(",")
    listed = [k for k in a.keys.split(",") if k]
    late = None
    if a.sliding:
        want = sliding(data, int(a.sliding * NS), reducers)
    else:
        size, every = (a.tumbling, a.tumbling) if a.tumbling else map(float, a.hopping.split(","))
        if a.arrival:
            want, late = arriving(data, int(size * NS), int(every * NS), reducers, listed)
        else:
            want = buckets(data, int(size * NS), int(every * NS), reducers, listed)
    if late is not None:
        print("late: %d" % late)
    if a.produce:
        want = produce(want, a.produce, reducers, a.key)
    bad = compare(want, a.output, a.label, reducers, a.key)
    print("%d rows checked, %d differ" % (len(want), bad))
    sys.exit(1 if bad else 0)


main()

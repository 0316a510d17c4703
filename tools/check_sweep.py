#!/usr/bin/env python3
"""Recompute a BTC-volume parameter sweep in plain Python and compare it with the CSV Tubes wrote.

For every combination (N, coin) of the grid: merge the BTC bars and the coin's bars by time (BTC first on equal
times) over [FROM, TO). Each BTC bar adds its Volume to btc_sum; when btc_sum > N the window closes with a row
(time of that BTC bar, btc_sum, number of coin bars, sum of their Volume) and everything restarts from zero. A coin
bar with the same time as the closing BTC bar belongs to the next window. Bars come from
testdata/binance_BTCUSDT_<BARS>.csv and testdata/binance_<COIN>USDT_<BARS>.csv.

    python3 tools/check_sweep.py out/sweep.csv                       # N,coin,timestamp,<values>
    python3 tools/check_sweep.py out/sweep.csv --n-from 1000 --n-to 1100 --coins ETH,XRP --sample 3
    python3 tools/check_sweep.py out/sweep_bars.csv --bars-of XLM=5m_2020-12-01_2021-07-17 --coins ETH,XLM
                                                                     # N,coin,bars,timestamp,<values>

The rows must hold the combinations N ascending, coin in --coins order, each as one contiguous group (a
combination without rows has none), the rows of a group in the recomputed order. Values are compared exactly
(timestamps as text, numbers after float(), counts after int()): the sums are plain sequential float additions,
bit-identical in any correct implementation. --sample K checks the rows of every K-th combination only; that no
group is unknown, repeated or out of order is checked for all. Speed: the windows depend on BTC alone, so they are
computed once per (bars, N); a window's coin bars are then found by bisection on time.

Exit status 0 when everything matches, 1 otherwise. Uses only the standard library.
"""
import argparse
import bisect
import csv
import functools
import itertools
import operator
import os
import sys
from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
VALUES = ("btc_vol_sum.sum_Volume", "alt_counter.count", "alt_counter.sum_Volume")
SHOW = 5  # differences printed


def ms(text):
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone (use e.g. 2021-04-02T00:00:00Z)")
    return (t - EPOCH) // timedelta(milliseconds=1)


def rfc3339(t):
    return (EPOCH + timedelta(milliseconds=t)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}Z"


class Sweep:
    """The expected rows, with every file, window list and alignment computed once."""

    def __init__(self, data, start, end):
        self.data, self.start, self.end, self.cache = data, start, end, {}

    def cached(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def bars(self, coin, bars):
        """(times, volumes) of the bars in [start, end)."""
        def load():
            path = f"{self.data}/binance_{coin}USDT_{bars}.csv"
            with open(path, newline="") as f:
                rows = csv.reader(f)
                head = next(rows)
                it, iv = head.index("Unix Timestamp"), head.index("Volume")
                kept = [(t, float(r[iv])) for r in rows if self.start <= (t := int(r[it])) < self.end]
            times = [t for t, _ in kept]
            if any(a > b for a, b in zip(times, times[1:])):
                sys.exit(f"error: {path} is not in ascending time order")
            return times, [v for _, v in kept]
        return self.cached(("bars", coin, bars), load)

    def windows(self, bars, n):
        """[(index of the closing BTC bar, btc_sum)]: the running sum, restarted after every close."""
        def make():
            _, vols = self.bars("BTC", bars)
            sums = itertools.accumulate(vols, lambda s, v: (0.0 if s > n else s) + v)
            return [(i, s) for i, s in enumerate(sums) if s > n]
        return self.cached(("windows", bars, n), make)

    def expected(self, n, coin, bars):
        btc_times, _ = self.bars("BTC", bars)
        stamps = self.cached(("stamps", bars), lambda: [rfc3339(t) for t in btc_times])
        alt_times, alt_vols = self.bars(coin, bars)
        # Coin bars before BTC bar i (BTC first on equal times): those with a time strictly earlier.
        before = self.cached(("before", coin, bars), lambda: [bisect.bisect_left(alt_times, t) for t in btc_times])
        rows, first = [], 0
        for i, btc_sum in self.windows(bars, n):
            last = before[i]
            # Left to right, one float addition at a time (not sum(): Python >= 3.12 compensates rounding).
            alt_sum = functools.reduce(operator.add, alt_vols[first:last], 0.0)
            rows.append((stamps[i], btc_sum, last - first, alt_sum))
            first = last
        return rows


def compare(combo, group, want, cols, fields, diffs):
    """The number of rows in group [(line, row)] equal to want; every difference goes to diffs."""
    if len(group) != len(want):
        diffs.append(f"{combo}: {len(group)} rows written (lines {group[0][0]}-{group[-1][0]}), {len(want)} expected")
    same = 0
    for (line, row), w in zip(group, want):
        try:
            values = (row[cols[0]], float(row[cols[1]]), int(row[cols[2]]), float(row[cols[3]]))
        except (ValueError, IndexError):
            values = None
        if values == w and len(row) == fields:
            same += 1
        else:
            diffs.append(f"{combo}, line {line}: wrote {row}, expected {list(w)}")
    return same


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", help="the CSV Tubes wrote")
    p.add_argument("--from", dest="start", type=ms, default="2021-04-02T00:00:00Z")
    p.add_argument("--to", dest="end", type=ms, default="2021-05-14T20:00:00Z")
    p.add_argument("--n-from", type=int, default=50)
    p.add_argument("--n-to", type=int, default=5000, help="inclusive")
    p.add_argument("--n-step", type=int, default=50)
    p.add_argument("--coins", default="ETH,BNB,LTC,XMR,XRP,XTZ", help="in the order the output holds them")
    p.add_argument("--bars", default="1m_2021-04-02_2021-05-14", help="bars of the coins not in --bars-of")
    p.add_argument("--bars-of", action="append", default=[], metavar="COIN=BARS", help="repeatable")
    p.add_argument("--sample", type=int, default=1, metavar="K", help="check the values of every K-th combination")
    p.add_argument("--data", default="testdata", help="folder of the bar files")
    a = p.parse_args()
    if a.n_step <= 0 or a.sample <= 0:
        p.error("--n-step and --sample must be positive")
    if any("=" not in item for item in a.bars_of):
        p.error("--bars-of takes COIN=BARS, e.g. XLM=5m_2020-12-01_2021-07-17")
    bars_of = dict(item.split("=", 1) for item in a.bars_of)
    coins = a.coins.split(",")
    grid = [(n, c, bars_of.get(c, a.bars)) for n in range(a.n_from, a.n_to + 1, a.n_step) for c in coins]
    for coin, bars in {(c, b) for _, c, b in grid} | {("BTC", b) for _, _, b in grid}:
        if not os.path.isfile(f"{a.data}/binance_{coin}USDT_{bars}.csv"):
            print(f"error: no {a.data}/binance_{coin}USDT_{bars}.csv (other bars for {coin}: --bars-of {coin}=BARS)")
            return 1

    with open(a.output, newline="") as f:
        rows = csv.reader(f)
        header = next(rows, [])
        params = header[:header.index("timestamp")] if "timestamp" in header else None
        if params not in (["N", "coin"], ["N", "coin", "bars"]):
            print(f"error: header {header} does not start N,coin[,bars],timestamp")
            return 1
        missing = [v for v in VALUES if v not in header]
        if missing:
            print(f"error: value column(s) {', '.join(missing)} missing from header {header}")
            return 1
        cols, width = [header.index(c) for c in ("timestamp", *VALUES)], len(params)
        key = lambda n, c, b: (str(n), c, b)[:width]  # noqa: E731
        position = {key(*combo): i for i, combo in enumerate(grid)}
        sweep, diffs, started, latest, matched = Sweep(a.data, a.start, a.end), [], {}, -1, 0
        # Group by group as written: each a combination of the grid, once, in grid order, holding the right rows.
        for k, group in itertools.groupby(enumerate(rows, start=2), lambda line_row: tuple(line_row[1][:width])):
            group = list(group)
            line, where = group[0][0], position.get(k)
            if where is None:
                diffs.append(f"line {line}: {list(k)} is not a combination of the grid")
            elif k in started:
                diffs.append(f"line {line}: {list(k)} again (its group starts at line {started[k]})")
            else:
                if where < latest:
                    diffs.append(f"line {line}: {list(k)} out of order (after {list(key(*grid[latest]))})")
                started[k], latest = line, max(latest, where)
                if where % a.sample == 0:
                    want = sweep.expected(*grid[where])
                    matched += compare(grid[where], group, want, cols, len(header), diffs)
    for combo in grid[::a.sample]:
        if key(*combo) not in started and (want := sweep.expected(*combo)):
            diffs.append(f"{combo}: no rows written, {len(want)} expected")

    if diffs:
        print(f"MISMATCH: {len(diffs)} difference(s) in {a.output}; the first {min(SHOW, len(diffs))}:")
        for d in diffs[:SHOW]:
            print("  " + d)
        return 1
    sampled = f" (values of 1 in {a.sample})" if a.sample > 1 else ""
    print(f"ok: {len(grid)} combinations{sampled}, {matched} rows match")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Recompute the example's answer in plain Python and compare it with what Tubes wrote.

Whenever more than THRESHOLD BTC have traded (summing 1-minute bar volumes), count the ETH bars and sum the
ETH volume of that window. Bars are merged by time, BTC first on equal times, over [FROM, TO).

    cargo run --release -- run configs/btc_eth_volume.yaml
    python3 tools/check_answer.py out/btc_eth_volume.csv
    cargo run --release -- run configs/btc_eth_volume_sqlite.yaml
    python3 tools/check_answer.py out/tubes.sqlite --table btc_eth_volume

Exit status 0 when every row matches exactly, 1 otherwise. Uses only the standard library.
"""
import argparse
import csv
import sqlite3
import sys
from datetime import datetime, timezone


def bars(path):
    with open(path, newline="") as f:
        rows = csv.DictReader(f)
        return [(int(r["Unix Timestamp"]), float(r["Volume"])) for r in rows]


def ms(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def expected(btc, eth, start, end, threshold):
    events = sorted([(t, 0, v) for t, v in bars(btc)] + [(t, 1, v) for t, v in bars(eth)])
    out, btc_sum, eth_n, eth_sum = [], 0.0, 0, 0.0
    for t, which, v in events:
        if not start <= t < end:
            continue
        if which == 0:
            btc_sum += v
            if btc_sum > threshold:
                out.append((t, btc_sum, eth_n, eth_sum))
                btc_sum, eth_n, eth_sum = 0.0, 0, 0.0
        else:
            eth_n += 1
            eth_sum += v
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", help="the CSV Tubes wrote (timestamp, btc sum, eth count, eth sum), or an SQLite file")
    p.add_argument("--table", help="read this table of the SQLite file OUTPUT (Python's sqlite3 module)")
    p.add_argument("--btc", default="testdata/binance_BTCUSDT_1m.csv")
    p.add_argument("--eth", default="testdata/binance_ETHUSDT_1m.csv")
    p.add_argument("--from", dest="start", default="2023-03-17T00:00:00Z")
    p.add_argument("--to", dest="end", default="2023-05-01T00:00:00Z")
    p.add_argument("--threshold", type=float, default=1000.0)
    a = p.parse_args()

    want = expected(a.btc, a.eth, ms(a.start), ms(a.end), a.threshold)
    if a.table:
        with sqlite3.connect(f"file:{a.output}?mode=ro", uri=True) as db:
            got = db.execute(f'select * from "{a.table}" order by rowid').fetchall()
        if got and not isinstance(got[0][2], int):
            print(f"mismatch: counts stored as {type(got[0][2]).__name__}, not integers")
            return 1
    else:
        with open(a.output, newline="") as f:
            got = list(csv.reader(f))[1:]
    if len(got) != len(want):
        print(f"mismatch: {len(got)} rows written, {len(want)} expected")
        return 1
    for i, (row, (t, btc_sum, eth_n, eth_sum)) in enumerate(zip(got, want), start=2):
        values = (ms(row[0]), float(row[1]), int(row[2]), float(row[3]))
        if values != (t, btc_sum, eth_n, eth_sum):
            print(f"mismatch at line {i}: wrote {row}, expected {(t, btc_sum, eth_n, eth_sum)}")
            return 1
    print(f"ok: all {len(want)} rows match a plain Python recomputation")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Reads a Tubes journal with nothing but the layout in the README and Python's standard library.

It checks every record's commit marker and checksum and, with --csv LABEL=FILE, that the values recorded
for generator LABEL are the file's, row for row, in time order:

    python3 tools/check_journal.py out/journal \
        --csv btc=testdata/binance_BTCUSDT_1m.csv --csv eth=testdata/binance_ETHUSDT_1m.csv --field Volume
"""
import argparse
import json
import mmap
import struct
import sys
from datetime import datetime, timezone

HEADER, SLOT = 64, 144
FNV_BASIS, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


def fnv1a64_words(data):
    """FNV-1a 64, a little-endian u64 word at a time."""
    h = FNV_BASIS
    for (w,) in struct.iter_unpack("<Q", data):
        h = ((h ^ w) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def records(directory, meta):
    """Yields (index, source, kind, event_time_ns, values) until the first empty slot; raises on a torn one."""
    slots = meta["segment_records"]
    i = 0
    while True:
        try:
            f = open(f"{directory}/{i // slots:08}.seg", "rb")
        except FileNotFoundError:
            return
        with f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
            if m[0:8] != b"TUBESJNL" or struct.unpack_from("<IIQQ", m, 8) != (1, SLOT, slots, i // slots):
                raise SystemExit(f"segment {i // slots}: bad header")
            for k in range(i % slots, slots):
                at = HEADER + SLOT * k
                marker, checksum = struct.unpack_from("<QQ", m, at)
                if marker == 0:
                    return
                payload = m[at + 16 : at + 144]
                if marker != i + 1 or checksum != fnv1a64_words(struct.pack("<Q", i) + payload):
                    raise SystemExit(f"record {i} is torn")
                seq, t, _ingest, src, kind, n = struct.unpack_from("<QqQHBB", payload, 0)
                values = struct.unpack_from("<12d", payload, 32)[:n]
                yield i, src, kind, t, values
                i += 1


def csv_rows(path, field):
    """(time ns, value of `field`) of every row, oldest first; the time is the first column (unix ms or s)."""
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    start = 0 if "," in lines[0] else 1
    header = [h.strip() for h in lines[start].split(",")]
    col = header.index(field)
    rows = []
    for l in lines[start + 1 :]:
        cells = l.split(",")
        t = int(float(cells[0]))
        t *= 1_000_000 if t >= 10**11 else 1_000_000_000
        rows.append((t, float(cells[col])))
    rows.sort(key=lambda r: r[0])
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("journal")
    ap.add_argument("--csv", action="append", default=[], metavar="LABEL=FILE")
    ap.add_argument("--field", default="Volume")
    a = ap.parse_args()
    meta = json.load(open(f"{a.journal}/meta.json"))
    assert meta["format"] == "tubes-journal" and meta["version"] == 1, meta["format"]
    labels = [t["label"] for t in meta["tubes"]]
    by_label = {}
    n = 0
    for i, src, kind, t, values in records(a.journal, meta):
        n += 1
        if kind == 0:
            fields = meta["tubes"][src]["fields"]
            by_label.setdefault(labels[src], []).append((t, values[fields.index(a.field)] if a.field in fields else None))
    print(f"ok: {n} records, every commit marker and checksum valid")
    for spec in a.csv:
        label, path = spec.split("=", 1)
        got = by_label.get(label, [])
        if not got:
            raise SystemExit(f"{label}: no records")
        want = [r for r in csv_rows(path, a.field) if got[0][0] <= r[0] <= got[-1][0]]
        if got != want:
            bad = next(k for k, (g, w) in enumerate(zip(got, want)) if g != w) if len(got) == len(want) else min(len(got), len(want))
            raise SystemExit(f"{label}: record {bad} differs from {path}: {got[bad:bad+1]} vs {want[bad:bad+1]} ({len(got)} vs {len(want)} rows)")
        first = datetime.fromtimestamp(got[0][0] / 1e9, timezone.utc).isoformat()
        print(f"ok: {label}: all {len(got)} rows from {first} on match {path} ({a.field})")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Check that a Parquet file Tubes wrote holds the same rows as the CSV output of the same run, typed.

    cargo run --release -- run configs/sweep_btc_altcoins_xlm.yaml
    python3 tools/check_parquet.py out/sweep_btc_altcoins_xlm.parquet out/sweep_btc_altcoins_xlm.csv

The Parquet file is read with pyarrow (pip install pyarrow), independently of Tubes. Its columns must be
the CSV's, in order; `timestamp` must be a timestamp type; a column whose name ends in `.count` must be
an integer type; every cell must equal the CSV's (an empty CSV cell is a null). Exit status 0 when
everything matches, 1 otherwise.
"""
import argparse
import csv
import sys
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq


def ms(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def same(cell, value, kind):
    if cell == "":
        return value is None
    if pa.types.is_timestamp(kind):
        return int(value.timestamp() * 1000) == ms(cell)
    if pa.types.is_integer(kind):
        return value == int(cell)
    if pa.types.is_floating(kind):
        return value == float(cell)
    return value == cell


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("parquet")
    p.add_argument("csv")
    a = p.parse_args()
    table = pq.read_table(a.parquet)
    with open(a.csv, newline="") as f:
        lines = list(csv.reader(f))
    header, lines = lines[0], lines[1:]
    if table.column_names != header:
        print(f"mismatch: columns {table.column_names}, the CSV has {header}")
        return 1
    kinds = [table.schema.field(n).type for n in header]
    if not pa.types.is_timestamp(table.schema.field("timestamp").type):
        print(f"mismatch: timestamp is {table.schema.field('timestamp').type}, not a timestamp")
        return 1
    for name, kind in zip(header, kinds):
        if name.endswith(".count") and not pa.types.is_integer(kind):
            print(f"mismatch: {name} is {kind}, not an integer")
            return 1
    if table.num_rows != len(lines):
        print(f"mismatch: {table.num_rows} rows in the Parquet file, {len(lines)} in the CSV")
        return 1
    columns = [table.column(n).to_pylist() for n in header]
    for i, line in enumerate(lines):
        for j, cell in enumerate(line):
            if not same(cell, columns[j][i], kinds[j]):
                print(f"mismatch at CSV line {i + 2}, column {header[j]}: {cell!r} against {columns[j][i]!r}")
                return 1
    print(f"ok: {table.num_rows} rows of {len(header)} typed columns match the CSV "
          f"({', '.join(f'{n}: {k}' for n, k in zip(header, kinds))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

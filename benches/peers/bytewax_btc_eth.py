#!/usr/bin/env python3
"""The engine's main job (configs/btc_eth_volume.yaml) as a Bytewax 0.21 dataflow: a peer for the batch benchmark.

Question: whenever 1000 BTC have traded, how many ETH 1-minute bars (and how much ETH volume) happened in that
period? Binance BTCUSDT and ETHUSDT 1-minute bars (testdata/binance_{BTC,ETH}USDT_1m.csv; header row, time in
column `Unix Timestamp` as unix milliseconds, volume in column `Volume`) are kept when their time is in the batch
range [2023-03-17T00:00:00Z, 2023-05-01T00:00:00Z), merged by time (BTC first on equal times) and walked in
order: a BTC bar adds its volume to a BTC sum; an ETH bar adds 1 to an ETH count and its volume to an ETH sum.
When, after a BTC bar, the BTC sum is strictly greater than 1000, a row (that bar's time, BTC sum, ETH count,
ETH sum) is written and all three start again from 0. The CSV written is byte-identical to the engine's
out/btc_eth_volume.csv (same header; time as 2023-03-17T00:05:00.000Z; numbers as Rust's `{}` prints an f64,
which for these values is Python's repr, with a trailing ".0" dropped).

    pip install -r benches/peers/requirements.txt        # bytewax==0.21.1
    python3 benches/peers/bytewax_btc_eth.py out/bytewax.csv
    cmp out/bytewax.csv out/btc_eth_volume.csv
    # or, the same dataflow through Bytewax's own runner:
    python -m bytewax.run -w 1 "benches/peers/bytewax_btc_eth.py:get_flow('out/bytewax.csv')"

This is the Bytewax peer the batch comparison script times (whole process, wall clock). Run as a script it
executes the flow exactly as `python -m bytewax.run -w 1` does: `bytewax.run.cli_main(flow,
workers_per_process=1)` with the runner's default 10 s epoch and no recovery. (`bytewax.testing.run_main` is
documented as "only used for unit testing"; `python -m bytewax.run` is Bytewax's way to run a dataflow.) One
summary line goes to stderr: rows written and wall seconds from building the flow to closing the output.

All the work is in the dataflow's operators:

    btc_csv  (CSVSource) -> btc_bars (filter_map: parse, keep [from, to)) --+
                                                                              merge -> one_key (key_on "all")
    eth_csv  (CSVSource) -> eth_bars (filter_map: parse, keep [from, to)) --+
      -> merge_by_time (stateful: ordered two-way merge)
      -> windows (stateful_map: BTC sum, ETH count, ETH sum; emits a row when BTC sum > threshold)
      -> rows (filter_map_value: drop non-emitting bars, format the CSV line) -> csv (CSV file sink)

Merging: each file is read by Bytewax's stock CSVSource (one partition each, in file order); `op.merge`
interleaves their batches in whatever order the runtime schedules them, so time order is restored by a
stateful operator (keyed by one key, so it and the reduction run on a single worker) that keeps a FIFO per
stream and releases the head with the smaller (time, BTC-before-ETH) whenever both FIFOs are non-empty, and
releases the remainder at EOF. That is a streaming sorted merge (it relies on each file being in time order,
which it checks, and buffers only the run-ahead of one stream), not a collect-everything-and-sort.
"""
import argparse
import os
import sys
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List, Optional

import bytewax.operators as op
from bytewax.connectors.files import CSVSource
from bytewax.dataflow import Dataflow
from bytewax.operators import StatefulLogic
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

ROOT = Path(__file__).resolve().parents[2]
BTC_CSV = ROOT / "testdata/binance_BTCUSDT_1m.csv"
ETH_CSV = ROOT / "testdata/binance_ETHUSDT_1m.csv"
FROM = "2023-03-17T00:00:00Z"
TO = "2023-05-01T00:00:00Z"
THRESHOLD = 1000.0
TIME_COL = "Unix Timestamp"  # unix milliseconds
VOLUME_COL = "Volume"
HEADER = "timestamp,btc_vol_sum.sum_Volume,eth_counter.count,eth_counter.sum_Volume"
BTC, ETH = 0, 1  # also the tie-break: on equal times BTC comes first


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _bars(side: int, start: int, end: int):
    """filter_map mapper: a CSV row (dict) -> (time ms, side, volume), or None when outside [start, end)."""

    def parse(row):
        t = int(row[TIME_COL])
        if start <= t < end:
            return (t, side, float(row[VOLUME_COL]))
        return None

    return parse


class _TimeMerge(StatefulLogic):
    """Two-way merge of time-ordered streams: emit a bar once the other stream's head is known to be later."""

    def __init__(self, resume):
        btc, eth, last = resume if resume is not None else ((), (), (None, None))
        self.queues = (deque(btc), deque(eth))
        self.last = list(last)

    def on_item(self, bar):
        t, side, _ = bar
        if self.last[side] is not None and t < self.last[side]:
            raise ValueError(f"input {('BTC', 'ETH')[side]} is not in time order at {t}")
        self.last[side] = t
        self.queues[side].append(bar)
        btc, eth = self.queues
        out = []
        while btc and eth:
            # (time, side) order: BTC wins ties.
            out.append(btc.popleft() if btc[0][0] <= eth[0][0] else eth.popleft())
        return out, StatefulLogic.RETAIN

    def on_eof(self):
        # At most one queue is non-empty here; what it holds is in order and later than everything emitted.
        btc, eth = self.queues
        out = list(btc) + list(eth)
        btc.clear()
        eth.clear()
        return out, StatefulLogic.DISCARD

    def snapshot(self):
        return (tuple(self.queues[0]), tuple(self.queues[1]), tuple(self.last))


def _window(threshold: float):
    """stateful_map mapper. State: (btc_sum, eth_count, eth_sum). Emits (time, btc_sum, eth_count, eth_sum) or None."""

    def step(state, bar):
        btc_sum, eth_n, eth_sum = state if state is not None else (0.0, 0, 0.0)
        t, side, vol = bar
        if side == BTC:
            btc_sum += vol
            if btc_sum > threshold:
                return (0.0, 0, 0.0), (t, btc_sum, eth_n, eth_sum)
            return (btc_sum, eth_n, eth_sum), None
        return (btc_sum, eth_n + 1, eth_sum + vol), None

    return step


def _num(x) -> str:
    """Rust's `{}` for an f64: shortest round-trip digits, no trailing ".0" (Python repr otherwise, in this range)."""
    r = repr(x)
    return r[:-2] if r.endswith(".0") else r


def _line(row) -> Optional[str]:
    if row is None:
        return None
    t, btc_sum, eth_n, eth_sum = row
    stamp = datetime.fromtimestamp(t // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{t % 1000:03d}Z,{_num(btc_sum)},{eth_n},{_num(eth_sum)}"


class _CsvPartition(StatefulSinkPartition[str, int]):
    def __init__(self, path: Path, resume_state: Optional[int], started: float):
        if resume_state is None:
            self._f = open(path, "w", newline="")
            self._f.write(HEADER + "\n")
        else:
            self._f = open(path, "r+", newline="")
            self._f.seek(resume_state)
            self._f.truncate()
        self._path = path
        self._rows = 0
        self._started = started

    def write_batch(self, values: List[str]) -> None:
        self._f.write("".join(v + "\n" for v in values))
        self._rows += len(values)

    def snapshot(self) -> int:
        self._f.flush()
        return self._f.tell()

    def close(self) -> None:
        self._f.close()
        wall = time.perf_counter() - self._started
        print(f"bytewax_btc_eth: {self._rows} rows written to {self._path} in {wall:.3f} s wall", file=sys.stderr)


class _CsvSink(FixedPartitionedSink[str, int]):
    """One CSV file with a header line; one partition, so one worker writes it. Takes (key, line) items."""

    def __init__(self, path: Path, started: float):
        self._path = path
        self._started = started

    def list_parts(self) -> List[str]:
        return [str(self._path)]

    def part_fn(self, item_key: str) -> int:
        return 0

    def build_part(self, step_id: str, for_part: str, resume_state: Optional[int]) -> _CsvPartition:
        return _CsvPartition(self._path, resume_state, self._started)


def get_flow(out, btc=BTC_CSV, eth=ETH_CSV, start=FROM, end=TO, threshold=THRESHOLD) -> Dataflow:
    """Build the dataflow; `python -m bytewax.run "benches/peers/bytewax_btc_eth.py:get_flow('out.csv')"`."""
    started = time.perf_counter()
    lo, hi = _ms(start), _ms(end)
    btc, eth = Path(btc), Path(eth)
    for p in (btc, eth):
        if not p.is_file():  # CSVSource would silently read nothing
            raise FileNotFoundError(p)

    flow = Dataflow("btc_eth_volume")
    btc_bars = op.filter_map("btc_bars", op.input("btc_csv", flow, CSVSource(btc)), _bars(BTC, lo, hi))
    eth_bars = op.filter_map("eth_bars", op.input("eth_csv", flow, CSVSource(eth)), _bars(ETH, lo, hi))
    bars = op.key_on("one_key", op.merge("merge", btc_bars, eth_bars), lambda _bar: "all")
    ordered = op.stateful("merge_by_time", bars, _TimeMerge)
    rows = op.stateful_map("windows", ordered, _window(float(threshold)))
    lines = op.filter_map_value("rows", rows, _line)
    op.output("csv", lines, _CsvSink(Path(out), started))
    return flow


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", help="CSV file to write")
    p.add_argument("--btc", default=str(BTC_CSV))
    p.add_argument("--eth", default=str(ETH_CSV))
    p.add_argument("--from", dest="start", default=FROM)
    p.add_argument("--to", dest="end", default=TO)
    p.add_argument("--threshold", type=float, default=THRESHOLD)
    a = p.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    flow = get_flow(a.output, a.btc, a.eth, a.start, a.end, a.threshold)

    from bytewax.run import cli_main

    # What `python -m bytewax.run -w 1 <flow>` calls (no recovery, its default 10 s epoch).
    cli_main(flow, workers_per_process=1, epoch_interval=timedelta(seconds=10))


if __name__ == "__main__":
    main()

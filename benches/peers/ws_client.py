#!/usr/bin/env python3
"""A plain Python WebSocket client answering configs/bench_feed.yaml: the peer of `tubes bench --feed`.

    pip install -r benches/peers/requirements.txt        # websockets (and bytewax, for the batch peer)
    target/release/mock-exchange --exchange binance \\
        --capture testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson --rate 20000 --stamp --loop &
    python3 benches/peers/ws_client.py ws://127.0.0.1:PORT --duration 5
    # the answer, for checking: the capture once (no --loop), every row to CSV
    python3 benches/peers/ws_client.py ws://127.0.0.1:PORT --count 34419 --csv w.csv --trades-csv t.csv

What it reads. It connects to URL (the mock's `listening on ws://127.0.0.1:PORT`) with Binance's combined-stream
path, `/stream?streams=btcusdt@trade/ethusdt@trade`, added when URL has no path: what Tubes asks for when a
config's `url:` replaces an exchange's scheme, host and port. Every text frame is parsed whole with `json.loads`.
A frame whose `data` (or the frame itself) is not `"e": "trade"` is ignored; a trade whose price or quantity is
not a finite number above zero is counted as malformed and dropped, as src/sources/ws/exchange.rs `number` does.
Trade ids (`t`) are tracked per market as Tubes' Contiguous rule does: a repeated or older id is dropped as a
duplicate, a jump is counted as a gap (the mock's `--loop` keeps ids rising, so neither happens here).

What it computes: configs/bench_feed.yaml, for every trade, in arrival order.
  btc_vol_sum   BTCUSDT: adds `q` to a sum; when the sum is strictly greater than 10 (Produce GREATER), emits it
                and resets it to 0.
  eth_counter   ETHUSDT: counts trades and adds up `q`; when btc_vol_sum fires, emits count and sum and resets
                both (Consume), so an ETH trade belongs to the window of the next BTC trade that closes one.
  windows sink  one row per window: the closing BTC trade's time `T`, the BTC sum, the ETH count and the ETH sum.
  trades sink   one row per trade (every_trade, NOP): its time `T` and price.
Rows are written (with --csv / --trades-csv) in the exact text of Tubes' CSV sink: the same header, times as
2024-08-08T23:54:56.271Z, numbers as Rust's `{}` prints an f64 (shortest round-trip digits, never an exponent,
no trailing ".0"), and an empty `status` column (Tubes also writes feed-status rows there; this client does not).

Latency, as Tubes measures it. `tubes bench --feed` runs the mock with `--stamp`, so each frame ends in
`"mock_sent_ns": <ns>`: the wall-clock time (CLOCK_REALTIME; Rust's SystemTime::now) the frame was *due*
under the mock's pacing, not when its write went through, so a client that falls behind (TCP fills, the mock's
writes block) sees the delay (coordinated omission). Tubes (src/sources/ws/router.rs) reads that same top-level
field and makes it the datapoint's ingest time; a sink's end-to-end figure is then the time the sink wrote the
row minus that stamp. Here, with the same clock (`time.time_ns()` is CLOCK_REALTIME), for every trade:
latency = time.time_ns() once the trade has gone through both chains (its window row, when it closes one,
and its trade row are made) - the frame's `mock_sent_ns`. The trades sink gets a row per trade, so it is the
sink with the most values, which is the one `tubes bench --feed` reports as "end-to-end": the headline series
here is the same (`trades`); the windows rows' latencies are reported beside it (`windows`). When the mock
also writes `"mock_wrote_ns"` (when it actually wrote the frame; newer builds), the difference from the due stamp
is the mock's own lag, part of every figure: it is reported apart (`send_lag_ns`), as Tubes' `max send lag` is.

The client: websockets' asyncio implementation (`websockets.asyncio.client.connect` and `async for message in
websocket`), the library's documented idiom and its main implementation, on one thread. The sync client
(`websockets.sync.client`, `--client sync`) is also here, for comparison: it reads the socket on a background
thread and hands every message to the caller's thread through a condition variable, so each message crosses
threads under the GIL, one more hand-off per message than the event loop needs. Neither is tuned: no uvloop,
no gc.disable(), compression off (the mock does not offer it and Tubes does not use it).

The run ends after --duration seconds from the connection (the mock starts pacing when the client connects,
as `tubes bench --feed`'s engine does) or after --count trade messages, or when no message has come for
--idle-exit seconds. Then it prints, per series: count, p50, p99, p99.9 and max, by plain sorting (nearest
rank: the smallest value with at least that fraction of the values at or below it, as HdrHistogram's
value_at_quantile). --json prints one JSON object instead (what benches/live_compare.py reads).
"""
import argparse
import asyncio
import json
import math
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import urlsplit

THRESHOLD = 10.0
STREAMS = "/stream?streams=btcusdt@trade/ethusdt@trade"
WINDOWS_HEADER = "timestamp,btc_vol_sum.sum_quantity,eth_counter.count,eth_counter.sum_quantity,status"
TRADES_HEADER = "timestamp,every_trade.price,status"


def rust_f64(x: float) -> str:
    """Rust's `{}` for an f64: shortest round-trip digits, positional, no trailing '.0'."""
    r = repr(x)
    if "e" in r or "E" in r:
        r = format(Decimal(r), "f")
    return r[:-2] if r.endswith(".0") else r


def iso_ms(ms: int) -> str:
    s = datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{s}.{ms % 1000:03d}Z"


def _number(s: str) -> float:
    v = float(s)
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"'{s}' is not a finite number above zero")
    return v


class Question:
    """configs/bench_feed.yaml's state, fed one frame at a time."""

    def __init__(self, threshold=THRESHOLD, keep_trades=False):
        self.threshold = threshold
        self.btc = 0.0
        self.eth_n = 0
        self.eth = 0.0
        self.windows = []            # (T ms, btc sum, eth count, eth sum)
        self.trades = [] if keep_trades else None  # (T ms, price)
        self.last_id = {}
        self.trade_lat = []          # ns, one per trade
        self.window_lat = []         # ns, one per window row
        self.send_lag = []           # ns, mock_wrote_ns - mock_sent_ns, when the mock writes both
        self.frames = self.n_trades = self.ignored = self.malformed = self.duplicates = self.gaps = 0
        self.unstamped = 0

    def on_frame(self, text):
        self.frames += 1
        try:
            msg = json.loads(text)
            d = msg.get("data", msg)
            if d.get("e") != "trade":
                self.ignored += 1
                return
            sym, tid, t_ms = d["s"], d["t"], d["T"]
            price, qty = _number(d["p"]), _number(d["q"])
        except (ValueError, KeyError, TypeError, AttributeError):
            self.malformed += 1
            return
        stamp = msg.get("mock_sent_ns")
        wrote = msg.get("mock_wrote_ns")
        if wrote is not None and stamp is not None:
            self.send_lag.append(wrote - stamp)
        last = self.last_id.get(sym)
        if last is not None:
            if tid <= last:
                self.duplicates += 1
                return
            if tid > last + 1:
                self.gaps += 1
        self.last_id[sym] = tid
        self.n_trades += 1
        row = None
        if sym == "BTCUSDT":
            self.btc += qty
            if self.btc > self.threshold:
                row = (t_ms, self.btc, self.eth_n, self.eth)
                self.windows.append(row)
                self.btc, self.eth_n, self.eth = 0.0, 0, 0.0
        elif sym == "ETHUSDT":
            self.eth_n += 1
            self.eth += qty
        trade_row = (t_ms, price)     # every_trade -> trades sink (a Discard sink unless --trades-csv)
        if self.trades is not None:
            self.trades.append(trade_row)
        now = time.time_ns()
        if stamp is None:
            self.unstamped += 1
            return
        self.trade_lat.append(now - stamp)
        if row is not None:
            self.window_lat.append(now - stamp)


def quantile(sorted_xs, q):
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    if not sorted_xs:
        return None
    i = max(0, math.ceil(q * len(sorted_xs)) - 1)
    return sorted_xs[min(i, len(sorted_xs) - 1)]


def percentiles(xs):
    s = sorted(xs)
    return {"count": len(s), "p50": quantile(s, 0.5), "p99": quantile(s, 0.99),
            "p999": quantile(s, 0.999), "max": s[-1] if s else None}


def human_ns(ns):
    """As Tubes prints a duration (src/metrics/table.rs duration_ns)."""
    if ns is None:
        return "-"
    if ns < 0:
        return "-" + human_ns(-ns)
    if ns < 1_000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.1f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.2f}ms"
    return f"{ns / 1e9:.2f}s"


def full_url(url):
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        sys.exit(f"ws_client: '{url}' does not start with ws:// or wss://")
    return url if parts.path not in ("", "/") else url.rstrip("/") + STREAMS


async def run_asyncio(url, q, duration, count, idle):
    from websockets.asyncio.client import connect

    async with connect(url, compression=None, proxy=None, ping_interval=None, close_timeout=0.2) as ws:
        started = time.monotonic()
        state = {"last": started}

        async def read():
            async for message in ws:
                q.on_frame(message)
                if idle:
                    state["last"] = time.monotonic()
                if count and q.frames >= count:
                    return "count"
            return "closed by the server"

        reader = asyncio.create_task(read())
        deadline = started + duration if duration else None
        while True:
            wait = 0.1 if idle else None
            if deadline is not None:
                left = deadline - time.monotonic()
                wait = left if wait is None else min(wait, left)
                if left <= 0:
                    break
            done, _ = await asyncio.wait({reader}, timeout=wait)
            if done:
                return reader.result(), time.monotonic() - started
            if idle and time.monotonic() - state["last"] >= idle:
                break
        reader.cancel()
        try:
            await reader
        except asyncio.CancelledError:
            pass
        why = "duration" if deadline is not None and time.monotonic() >= deadline else "idle"
        return why, time.monotonic() - started


def run_sync(url, q, duration, count, idle):
    from websockets.sync.client import connect
    from websockets.exceptions import ConnectionClosed

    with connect(url, compression=None, proxy=None, ping_interval=None, close_timeout=0.2) as ws:
        started = time.monotonic()
        deadline = started + duration if duration else None
        while True:
            timeout = idle or None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "duration", time.monotonic() - started
                timeout = left if timeout is None else min(timeout, left)
            try:
                message = ws.recv(timeout=timeout)
            except TimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    return "duration", time.monotonic() - started
                return "idle", time.monotonic() - started
            except ConnectionClosed:
                return "closed by the server", time.monotonic() - started
            q.on_frame(message)
            if count and q.frames >= count:
                return "count", time.monotonic() - started


def write_csv(path, header, lines):
    with open(path, "w", newline="") as f:
        f.write(header + "\n")
        f.writelines(line + "\n" for line in lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url", help="the mock exchange's ws://HOST:PORT (Binance's combined-stream path is added)")
    p.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: no limit)")
    p.add_argument("--count", type=int, default=0, help="stop after this many frames (0: no limit)")
    p.add_argument("--idle-exit", type=float, default=0, help="stop once no frame came for this many seconds")
    p.add_argument("--threshold", type=float, default=THRESHOLD)
    p.add_argument("--csv", help="write the windows rows here, as Tubes' CSV sink does")
    p.add_argument("--trades-csv", help="write the trades rows (one per trade) here")
    p.add_argument("--client", choices=("asyncio", "sync"), default="asyncio")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the text summary")
    a = p.parse_args()
    if not (a.duration or a.count or a.idle_exit):
        p.error("give --duration, --count or --idle-exit")

    url = full_url(a.url)
    q = Question(a.threshold, keep_trades=bool(a.trades_csv))
    if a.client == "asyncio":
        why, wall = asyncio.run(run_asyncio(url, q, a.duration, a.count, a.idle_exit))
    else:
        why, wall = run_sync(url, q, a.duration, a.count, a.idle_exit)

    if a.csv:
        write_csv(a.csv, WINDOWS_HEADER,
                  (f"{iso_ms(t)},{rust_f64(b)},{n},{rust_f64(e)}," for t, b, n, e in q.windows))
    if a.trades_csv:
        write_csv(a.trades_csv, TRADES_HEADER, (f"{iso_ms(t)},{rust_f64(px)}," for t, px in q.trades))

    trades, windows = percentiles(q.trade_lat), percentiles(q.window_lat)
    result = {
        "client": a.client, "url": url, "ended": why, "wall_s": wall, "frames": q.frames,
        "trades": q.n_trades, "windows_rows": len(q.windows), "ignored": q.ignored, "malformed": q.malformed,
        "duplicates": q.duplicates, "gaps": q.gaps, "unstamped": q.unstamped,
        "rate": q.frames / wall if wall > 0 else 0.0,
        "latency_ns": {"trades": trades, "windows": windows},
        "send_lag_ns": percentiles(q.send_lag),
    }
    if a.json:
        print(json.dumps(result))
        return
    print(f"ws_client ({a.client}): {q.frames} frames in {wall:.3f} s ({result['rate'] / 1e3:.1f} k/s; ended: {why}); "
          f"{q.n_trades} trades, {len(q.windows)} windows rows; {q.malformed} malformed, {q.duplicates} duplicates, "
          f"{q.gaps} gaps, {q.unstamped} without a stamp")
    lag = result["send_lag_ns"]
    if lag["count"]:
        print(f"the mock's own send lag (mock_wrote_ns - mock_sent_ns, inside every figure below): "
              f"p50 {human_ns(lag['p50'])}  p99 {human_ns(lag['p99'])}  max {human_ns(lag['max'])}")
    print(f"{'latency (stamp to row)':<26}  {'count':>8}  {'p50':>9}  {'p99':>9}  {'p99.9':>9}  {'max':>9}")
    for name, s in (("sink trades (every trade)", trades), ("sink windows", windows)):
        print(f"{name:<26}  {s['count']:>8}  " + "  ".join(f"{human_ns(s[k]):>9}" for k in ("p50", "p99", "p999", "max")))


if __name__ == "__main__":
    main()

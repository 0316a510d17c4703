#!/usr/bin/env python3
"""Wire-to-sink latency of Tubes and of a plain Python WebSocket client, on the same mock stream at the same rate.

    cargo build --release                                   # tubes and mock-exchange
    pip install -r benches/peers/requirements.txt           # websockets, for the peer
    python3 benches/live_compare.py [--rates 20k[,100k]] [--rounds 3] [--duration 5] [--floor]

For each rate, in turns for --rounds rounds (the order of the two flips every round):
  (a) Tubes:  target/release/tubes bench --feed --rate R --duration D. The bench starts the mock exchange
              itself (`--exchange binance --capture testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson --rate R
              --stamp --loop`) and drives configs/bench_feed.yaml; its `rate ...` line gives the end-to-end
              p50/p99/p99.9/max of the sink with the most values (`trades`: one row per trade).
  (b) peer:   this script starts target/release/mock-exchange with exactly those flags (port 0: the mock picks
              a free port and prints `listening on ws://127.0.0.1:PORT` as its first line, which is read here,
              as src/cli/mock_process.rs does), runs benches/peers/ws_client.py against it for D seconds and
              stops the mock. The peer answers the same question and takes the same figure: for every trade,
              wall-clock time (CLOCK_REALTIME) once its rows are made minus the frame's `mock_sent_ns` stamp,
              the time the mock was *due* to send it (see the peer's docstring).
  (c) floor (--floor): the same mock, read by a minimal client written here on the standard library alone
              (raw socket, the WebSocket handshake by hand, no JSON): wall-clock time when a read returned minus
              the stamp of each frame in it. It measures what neither contender can avoid on this machine: the
              mock running late on its own pacing (sleeping or spinning between frames), its writes, the loopback.
Then it prints, per rate, the median over the rounds of each percentile, and the ratio peer p99 / Tubes p99
(the performance target is >= 20).

The answers first. Before timing, both contenders answer the question over the same messages: the whole capture
once, at a modest rate (--check-rate, default 10k), without --loop, so the mock sends its 34,419 lines in file
order and then only pings. Each contender gets its own mock process, started with the same flags: the mock's
replay position is shared by all connections of one process and a new connection supersedes the old one, so two
clients on one mock would split the stream between them; two mocks without --loop send each client every line,
in the same order. So the comparison is exact:
  Tubes:  `tubes run` of configs/bench_feed.yaml with both Discard sinks turned into CSV files (windows rows and
          every-trade rows), pointed at its mock with `--endpoint binance=URL`, ending with `--idle-exit 1500ms`.
  peer:   ws_client.py --count 34419 (a --duration guard), writing the same two CSV files in Tubes' format.
Both must equal, byte for byte (data rows; Tubes' feed-status rows are set aside), a plain recomputation from
the capture file made here (text fields read as tests/common/capture.rs reads them, summed in file order), and
the peer must report every frame, no malformed frame, no duplicate and no gap. If the check fails, the script
stops and keeps its files.

Notes. The mock's own lateness (it wakes late, or is descheduled, on a busy machine) is inside both contenders'
figures, because each frame's stamp is the time it was due; --floor shows its size. Tubes' `max send lag` is 0
with a mock that stamps only `mock_sent_ns`; a mock that also stamps `mock_wrote_ns` (when the write happened)
lets Tubes and the peer report that lag (the peer's appears in its brackets). Cores: a mock that spins until each
frame is due keeps one core busy; on a 2-core machine Tubes' two busy threads (its I/O thread and the sequencer)
then share the other, where the peer is one thread. `nproc` is printed with the results.
Uses only the standard library.
"""
import argparse
import base64
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUBES = "target/release/tubes"
MOCK = "target/release/mock-exchange"
PEER = "benches/peers/ws_client.py"
CONFIG = "configs/bench_feed.yaml"
CAPTURE = "testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson"
STREAMS = "/stream?streams=btcusdt@trade/ethusdt@trade"
THRESHOLD = 10.0
UNITS = {"ns": 1, "µs": 1_000, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


# ---------------------------------------------------------------- formatting, as Tubes prints


def rust_f64(x):
    """Rust's `{}` for an f64: shortest round-trip digits, positional, no trailing '.0'."""
    r = repr(float(x))
    if "e" in r:
        r = format(Decimal(r), "f")
    return r[:-2] if r.endswith(".0") else r


def iso_ms(ms):
    s = datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{s}.{ms % 1000:03d}Z"


def human_ns(ns):
    """src/metrics/table.rs duration_ns."""
    if ns is None:
        return "-"
    if ns < 1_000:
        return f"{ns:.0f}ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.1f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.2f}ms"
    return f"{ns / 1e9:.2f}s"


def human_rate(x):
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.1f} k" if x >= 1e3 else f"{x:.0f}"


def parse_rate(s):
    t = s.strip()
    scale = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6}.get(t[-1:], 1.0)
    if scale != 1.0:
        t = t[:-1]
    try:
        v = float(t) * scale
    except ValueError:
        v = 0.0
    if v <= 0:
        raise argparse.ArgumentTypeError(f"'{s}' is not a rate: write e.g. 20000, 20k or 1.5M")
    return v


def to_ns(text):
    m = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", text)
    if not m:
        raise ValueError(f"not a duration: {text}")
    return float(m.group(1)) * UNITS[m.group(2)]


def ms_arg(seconds):
    return f"{round(seconds * 1000)}ms"


# ---------------------------------------------------------------- processes


class Mock:
    """target/release/mock-exchange as a child process, on a port it picks; killed by stop()."""

    def __init__(self, rate, loop, log=None):
        args = [MOCK, "--exchange", "binance", "--capture", CAPTURE, "--rate", rust_f64(rate), "--stamp"]
        if loop:
            args.append("--loop")
        # As tubes bench --feed does (src/cli/bench.rs, MOCK_SPIN_CORES): a spinning sender only where
        # it can have a core of its own, so that both contenders get the same pacing.
        if (os.cpu_count() or 1) >= 4:
            args.append("--spin")
        self.log = open(log, "w") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        first = self.proc.stdout.readline().strip()
        if not first.startswith("listening on "):
            self.stop()
            sys.exit(f"{' '.join(args)} did not start (first line: {first!r}); run it by hand to see why")
        self.url = first[len("listening on "):]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()


def run(cmd, what, timeout):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit(f"{what}: {' '.join(cmd)} did not end within {timeout} s")
    if r.returncode != 0:
        sys.exit(f"{what}: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def peer_cmd(url, client, *extra):
    return [sys.executable, PEER, url, "--client", client, "--json", *extra]


# ---------------------------------------------------------------- the answers


def recompute(threshold=THRESHOLD):
    """The rows of both sinks from the capture file, by a plain loop over its text in file order."""

    def raw(line, key):
        at = line.index(f'"{key}":') + len(key) + 3
        rest = line[at:].lstrip('"')
        end = min(i for i in (rest.find('"'), rest.find(","), rest.find("}")) if i >= 0)
        return rest[:end]

    btc = eth = 0.0
    n = 0
    windows, trades = [], []
    with open(CAPTURE) as f:
        for line in f:
            if not line.strip():
                continue
            t_ms, q = int(raw(line, "T")), float(raw(line, "q"))
            trades.append(f"{iso_ms(t_ms)},{rust_f64(float(raw(line, 'p')))},")
            if line.startswith('{"stream":"btcusdt@trade"'):
                btc += q
                if btc > threshold:
                    windows.append(f"{iso_ms(t_ms)},{rust_f64(btc)},{n},{rust_f64(eth)},")
                    btc, n, eth = 0.0, 0, 0.0
            elif line.startswith('{"stream":"ethusdt@trade"'):
                n += 1
                eth += q
    return windows, trades


def data_rows(path):
    """A sink CSV's rows without its header and without feed-status rows (their last column is not empty)."""
    with open(path) as f:
        lines = f.read().splitlines()
    return [l for l in lines[1:] if l.endswith(",")], [l for l in lines[1:] if not l.endswith(",")]


def check_config(dir_):
    text = open(CONFIG).read()
    for sink in ("windows", "trades"):
        old = f"label: {sink}\n    datasink: Discard"
        if old not in text:
            sys.exit(f"{CONFIG}: the {sink} sink is no longer `datasink: Discard`; update {sys.argv[0]}")
        text = text.replace(old, f"label: {sink}\n    datasink: {{CSV: {dir_}/tubes_{sink}.csv}}")
    path = os.path.join(dir_, "check.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"row {i + 1}: {x!r} against {y!r}"
    return f"{len(a)} rows against {len(b)}"


def check_answers(rate, client, dir_):
    """Both contenders over the whole capture, once, each from its own mock; their rows against a recomputation."""
    lines = sum(1 for l in open(CAPTURE) if l.strip())
    want_w, want_t = recompute()
    cfg = check_config(dir_)

    mock = Mock(rate, loop=False, log=os.path.join(dir_, "mock_tubes.log"))
    try:
        r = run([TUBES, "run", cfg, "--endpoint", f"binance={mock.url}", "--idle-exit", "1500ms", "--no-progress"],
                "answer check (Tubes)", timeout=120 + lines / rate)
    finally:
        mock.stop()
    summary = [l for l in r.stderr.splitlines() if l.startswith("tubes:") or "trades from" in l]

    mock = Mock(rate, loop=False, log=os.path.join(dir_, "mock_peer.log"))
    try:
        r = run(peer_cmd(mock.url, client, "--count", str(lines), "--duration", str(60 + 2 * lines / rate),
                         "--csv", f"{dir_}/peer_windows.csv", "--trades-csv", f"{dir_}/peer_trades.csv"),
                "answer check (peer)", timeout=120 + 2 * lines / rate)
    finally:
        mock.stop()
    peer = json.loads(r.stdout.splitlines()[-1])

    problems = []
    tubes_w, statuses = data_rows(f"{dir_}/tubes_windows.csv")
    tubes_t, _ = data_rows(f"{dir_}/tubes_trades.csv")
    peer_w, _ = data_rows(f"{dir_}/peer_windows.csv")
    peer_t, _ = data_rows(f"{dir_}/peer_trades.csv")
    for name, got, want in (("Tubes' windows rows", tubes_w, want_w), ("Tubes' trades rows", tubes_t, want_t),
                            ("the peer's windows rows", peer_w, want_w), ("the peer's trades rows", peer_t, want_t)):
        if got != want:
            problems.append(f"{name} differ from the recomputation: {first_difference(got, want)}")
    if tubes_w != peer_w:
        problems.append(f"the windows rows of Tubes and the peer differ: {first_difference(tubes_w, peer_w)}")
    counts = {k: peer[k] for k in ("frames", "trades", "malformed", "duplicates", "gaps", "unstamped")}
    if counts != {"frames": lines, "trades": lines, "malformed": 0, "duplicates": 0, "gaps": 0, "unstamped": 0}:
        problems.append(f"the peer's counts: {counts} (want {lines} frames and trades, no faults)")
    unexpected = [s for s in statuses if not s.endswith(",feed up on binance btcusdt")
                  and not s.endswith(",feed up on binance ethusdt")]
    if unexpected:
        problems.append(f"Tubes reported feed trouble: {unexpected}")
    print(f"answer check at {human_rate(rate)}/s over the whole capture ({lines} messages), each contender "
          f"from its own mock:")
    for l in summary:
        print(f"  {l.strip()}")
    print(f"  peer: {peer['frames']} frames, {peer['trades']} trades, {peer['windows_rows']} windows rows; "
          f"{peer['malformed']} malformed, {peer['duplicates']} duplicates, {peer['gaps']} gaps")
    if problems:
        print("answer check FAILED:\n  " + "\n  ".join(problems) + f"\n  files kept in {dir_}")
        sys.exit(1)
    print(f"  ok: Tubes and the peer both give the recomputation's {len(want_w)} windows rows and "
          f"{len(want_t)} trades rows, byte for byte (windows: first {want_w[0]!r}, last {want_w[-1]!r})")


# ---------------------------------------------------------------- timed runs


def tubes_round(rate, duration):
    r = run([TUBES, "bench", "--feed", "--rate", rust_f64(rate), "--duration", ms_arg(duration)],
            "tubes bench --feed", timeout=60 + 3 * duration)
    line = next((l for l in r.stdout.splitlines() if l.startswith("rate ")), None)
    m = line and re.search(r"sent\s+(\d+).*?max send lag\s+(\S+)\s+end-to-end p50 (\S+)\s+p99 (\S+)\s+"
                           r"p99\.9 (\S+)\s+max (\S+)", line)
    if not m:
        sys.exit(f"cannot read the end-to-end figures of tubes bench --feed from:\n{r.stdout}{r.stderr}")
    sinks = []
    for l in r.stdout.splitlines():
        s = re.match(r"(sink \S+ \(end-to-end\))\s+(\d+)\s", l)
        if s:
            sinks.append((int(s.group(2)), s.group(1)))
    sink = f"{max(sinks)[1]}, {max(sinks)[0]} values" if sinks else "sink ?"
    return {"sent": int(m.group(1)), "rate": int(m.group(1)) / duration, "lag": m.group(2),
            "p50": to_ns(m.group(3)), "p99": to_ns(m.group(4)), "p999": to_ns(m.group(5)),
            "max": to_ns(m.group(6)), "what": sink}


def peer_round(rate, duration, client):
    mock = Mock(rate, loop=True)
    try:
        r = run(peer_cmd(mock.url, client, "--duration", str(duration)), "peer", timeout=60 + 3 * duration)
    finally:
        mock.stop()
    p = json.loads(r.stdout.splitlines()[-1])
    s = p["latency_ns"]["trades"]
    if not s["count"]:
        sys.exit(f"the peer recorded no latency: {p}")
    faults = "" if not (p["malformed"] or p["duplicates"] or p["gaps"]) else \
        f", {p['malformed']} malformed {p['duplicates']} duplicates {p['gaps']} gaps"
    lag = p.get("send_lag_ns", {})
    lag = f"; mock's send lag max {human_ns(lag['max'])}" if lag.get("count") else ""
    return {"sent": p["trades"], "rate": p["frames"] / p["wall_s"], "p50": s["p50"], "p99": s["p99"],
            "p999": s["p999"], "max": s["max"], "what": f"every trade, {s['count']} values{faults}{lag}"}


def nearest_rank(sorted_xs, q):
    """The smallest value with at least q of the values at or below it (as the peer and HdrHistogram)."""
    return sorted_xs[min(len(sorted_xs) - 1, max(0, math.ceil(q * len(sorted_xs)) - 1))]


def floor_round(rate, duration):
    """A minimal reader: raw socket, hand-made handshake, no JSON; latency = read returned - frame's stamp."""
    mock = Mock(rate, loop=True)
    try:
        u = urlsplit(mock.url)
        s = socket.create_connection((u.hostname, u.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET {STREAMS} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("floor: the mock closed during the handshake")
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            sys.exit(f"floor: handshake refused: {head[:200]!r}")
        key_at = b'"mock_sent_ns":'
        lat, frames = [], 0
        started = time.monotonic()
        deadline = started + duration
        s.settimeout(0.1)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(1 << 16)
            except socket.timeout:
                continue
            now = time.time_ns()
            if not chunk:
                break
            buf += chunk
            i = 0
            while len(buf) - i >= 2:
                n, h = buf[i + 1] & 0x7F, 2
                if n == 126:
                    if len(buf) - i < 4:
                        break
                    n, h = int.from_bytes(buf[i + 2:i + 4], "big"), 4
                elif n == 127:
                    if len(buf) - i < 10:
                        break
                    n, h = int.from_bytes(buf[i + 2:i + 10], "big"), 10
                if len(buf) - i < h + n:
                    break
                if buf[i] & 0x0F == 1:
                    payload = buf[i + h:i + h + n]
                    at = payload.rfind(key_at)
                    if at >= 0:
                        lat.append(now - int(payload[at + len(key_at):].rstrip(b"} \n")))
                        frames += 1
                i += h + n
            buf = buf[i:]
        wall = time.monotonic() - started
        s.close()
    finally:
        mock.stop()
    lat.sort()
    if not lat:
        sys.exit("floor: no stamped frame arrived")
    return {"sent": frames, "rate": frames / wall, "p50": nearest_rank(lat, 0.5), "p99": nearest_rank(lat, 0.99),
            "p999": nearest_rank(lat, 0.999), "max": lat[-1], "what": f"raw reads, {len(lat)} values"}


def show(name, x):
    return (f"  {name:<6} {x['sent']:>8} trades ({human_rate(x['rate']):>7}/s)  p50 {human_ns(x['p50']):>8}  "
            f"p99 {human_ns(x['p99']):>8}  p99.9 {human_ns(x['p999']):>8}  max {human_ns(x['max']):>8}"
            f"   [{x['what']}]")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", default="20k", help="messages per second, comma-separated (20000, 20k, 1.5M)")
    p.add_argument("--rounds", type=int, default=3, help="0: only the answer check")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    p.add_argument("--check-rate", type=parse_rate, default=10_000.0, help="rate of the answer check")
    p.add_argument("--skip-check", action="store_true", help="time without checking the answers first")
    p.add_argument("--client", choices=("asyncio", "sync"), default="asyncio", help="the peer's websockets client")
    p.add_argument("--floor", action="store_true", help="also time a minimal raw-socket reader of the same mock")
    a = p.parse_args()
    rates = [parse_rate(r) for r in a.rates.split(",")]
    os.chdir(ROOT)
    for exe in (TUBES, MOCK):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: run cargo build --release first")
    if subprocess.run([sys.executable, "-c", "import websockets"], capture_output=True).returncode != 0:
        sys.exit("the peer needs websockets: pip install -r benches/peers/requirements.txt")

    if not a.skip_check:
        dir_ = tempfile.mkdtemp(prefix="live_compare_")
        check_answers(a.check_rate, a.client, dir_)
        shutil.rmtree(dir_)

    if a.rounds < 1:
        return
    names = ["tubes", "peer"] + (["floor"] if a.floor else [])
    results = {r: {n: [] for n in names} for r in rates}
    print(f"\n{a.rounds} rounds of {a.duration:g} s per rate; {os.cpu_count()} cores; peer: ws_client.py "
          f"--client {a.client}; latency = row made - frame's due stamp (mock_sent_ns)")
    for rnd in range(a.rounds):
        for rate in rates:
            order = names if rnd % 2 == 0 else [names[1], names[0], *names[2:]]
            got = {}
            for n in order:
                if n == "tubes":
                    got[n] = tubes_round(rate, a.duration)
                elif n == "peer":
                    got[n] = peer_round(rate, a.duration, a.client)
                else:
                    got[n] = floor_round(rate, a.duration)
                results[rate][n].append(got[n])
            print(f"round {rnd + 1}, rate {human_rate(rate)}/s (ran {', '.join(order)}; Tubes' max send lag "
                  f"{got['tubes']['lag']}):")
            for n in names:
                print(show(n, got[n]))
            print(f"  peer p99 / tubes p99: {got['peer']['p99'] / got['tubes']['p99']:.2f}x", flush=True)

    print(f"\nmedians over {a.rounds} rounds:")
    for rate in rates:
        med = {n: {k: statistics.median(x[k] for x in results[rate][n]) for k in ("p50", "p99", "p999", "max")}
               for n in names}
        print(f"rate {human_rate(rate)}/s:")
        for n in names:
            m = med[n]
            print(f"  {n:<6} p50 {human_ns(m['p50']):>8}  p99 {human_ns(m['p99']):>8}  "
                  f"p99.9 {human_ns(m['p999']):>8}  max {human_ns(m['max']):>8}")
        ratio = med["peer"]["p99"] / med["tubes"]["p99"]
        per_round = ", ".join(f"{pe['p99'] / tu['p99']:.2f}x" for pe, tu in zip(results[rate]["peer"],
                                                                               results[rate]["tubes"]))
        print(f"  peer / tubes: p50 {med['peer']['p50'] / med['tubes']['p50']:.2f}x  p99 {ratio:.2f}x  "
              f"p99.9 {med['peer']['p999'] / med['tubes']['p999']:.2f}x   (p99 per round: {per_round})")
        print(f"  target peer p99 / tubes p99 >= 20: {'met' if ratio >= 20 else 'MISSED'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()

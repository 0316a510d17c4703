#!/usr/bin/env python3
"""The main job measured side by side with its peers: whole processes, wall clock, in turns.

    cargo build --release
    pip install -r benches/peers/requirements.txt      # Bytewax, for (c); without it (c) is skipped
    python3 benches/batch_compare.py [--rounds 21] [--peer-rounds 5] [--placements auto,single]
    python3 benches/batch_compare.py --rounds 0      # only check that every contender gives our answer

Each round runs, one after the other, the same question (configs/btc_eth_volume.yaml: whenever 1000 BTC have
traded, how many ETH bars and how much ETH volume), each writing the same CSV:
  (a) the engine:            tubes run <the config, CSV output only> -q   (once per --placements entry)
  (b) the hand-written loop: target/release/batch-loop (std only, single-threaded: parses both files,
                             merges, reduces, writes the rows)
  (c) Bytewax:               python3 benches/peers/bytewax_btc_eth.py (in --peer-rounds of the rounds)
Before timing, every contender's CSV is checked byte-identical to the engine's. Prints each round, then the
median and range of each, and the ratios the performance targets are set on: (a)/(b) and (c)/(a).
Uses only the standard library.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

SHIPPED = "configs/btc_eth_volume.yaml"
TUBES = "target/release/tubes"
LOOP = "target/release/batch-loop"
PEER = "benches/peers/bytewax_btc_eth.py"
OUT = "out/bench_batch"


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return dt


def engine_config(placement):
    """The shipped config writing only its CSV, into OUT, with `placement`."""
    text = open(SHIPPED).read()
    text = text.replace("[Stdout, {CSV: out/btc_eth_volume.csv}]", f"{{CSV: {OUT}/engine_{placement}.csv}}")
    if f"{OUT}/engine_{placement}.csv" not in text:
        sys.exit(f"{SHIPPED}: its datasink line changed; update {sys.argv[0]}")
    path = f"{OUT}/engine_{placement}.yaml"
    with open(path, "w") as f:
        f.write(text + f"runtime:\n  placement: {placement}\n")
    return path


def have_bytewax():
    return subprocess.run([sys.executable, "-c", "import bytewax"], capture_output=True).returncode == 0


def summary(name, xs, base=None):
    med = statistics.median(xs)
    ratio = f"   {med / base:5.2f}x the loop" if base else ""
    return f"  {name:<34} median {med * 1e3:8.1f} ms   range {min(xs) * 1e3:7.1f}-{max(xs) * 1e3:7.1f} ms{ratio}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--peer-rounds", type=int, default=5, help="rounds that also run Bytewax (it takes ~1 s)")
    p.add_argument("--placements", default="auto,single", help="engine placements to time, comma-separated")
    args = p.parse_args()
    for exe in (TUBES, LOOP):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: run cargo build --release first")
    os.makedirs(OUT, exist_ok=True)
    engines = {pl: [TUBES, "run", engine_config(pl), "-q", "--no-progress"] for pl in args.placements.split(",")}
    loop = [LOOP, f"{OUT}/loop.csv"]
    peer = [sys.executable, PEER, f"{OUT}/bytewax.csv"] if have_bytewax() else None
    if peer is None:
        print("bytewax is not installed (pip install -r benches/peers/requirements.txt): (c) is skipped")

    # The answers first: every contender writes the engine's bytes.
    for cmd in [*engines.values(), loop, *([peer] if peer else [])]:
        timed(cmd)
    first = next(iter(engines))
    want = open(f"{OUT}/engine_{first}.csv", "rb").read()
    for name in [*(f"engine_{pl}" for pl in engines), "loop", *(["bytewax"] if peer else [])]:
        if open(f"{OUT}/{name}.csv", "rb").read() != want:
            sys.exit(f"{OUT}/{name}.csv differs from {OUT}/engine_{first}.csv")
    rows = want.count(b"\n") - 1
    print(f"all answers equal: {rows} rows")
    if args.rounds == 0:
        return

    times = {**{f"(a) engine, placement: {pl}": [] for pl in engines}, "(b) hand-written loop": [], "(c) Bytewax": []}
    for r in range(args.rounds):
        for pl, cmd in engines.items():
            times[f"(a) engine, placement: {pl}"].append(timed(cmd))
        times["(b) hand-written loop"].append(timed(loop))
        if peer and r < args.peer_rounds:
            times["(c) Bytewax"].append(timed(peer))
        print(f"round {r + 1}: " + "  ".join(f"{k.split(')')[0]})"
                                            f"{k.split(': ')[-1] if 'placement' in k else ''} {v[-1] * 1e3:.1f} ms"
                                            for k, v in times.items() if len(v) == r + 1), flush=True)

    loop_med = statistics.median(times["(b) hand-written loop"])
    print(f"\nmedians of {args.rounds} rounds ({args.peer_rounds} for Bytewax), {os.cpu_count()} cores:")
    for name, xs in times.items():
        if xs:
            print(summary(name, xs, None if name.startswith("(b)") else loop_med))
    if times["(c) Bytewax"]:
        bw = statistics.median(times["(c) Bytewax"])
        for pl in engines:
            print(f"  Bytewax / engine ({pl}): {bw / statistics.median(times[f'(a) engine, placement: {pl}']):.1f}x")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The parameter sweep measured side by side, whole processes, in turns.

    cargo build --release
    python3 benches/sweep_compare.py [--rounds 5] [--sample 6]

Each round runs, one after the other:
  (a) the sweep as one run:      tubes run configs/sweep_btc_altcoins.yaml   (600 combinations)
  (b) one combination as a run:  the same config with N=1000, coin=ETH and no sweep: section
  (c) separate runs:             --sample single-combination runs, spread over the grid; their mean
                                 wall time x 600 estimates the 600 separate runs (extrapolated, not run)
  (d) the hand-written loop:     target/release/sweep-loop (std only, single-threaded; same rows)
and prints the median wall time of each, the ratios the issue sets targets for ((a)/(d) <= 1.5,
(a)/(b) <= 8) and the datapoint-updates per second of (a). It first checks that (a) and (d) write
byte-identical files. Uses only the standard library.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

SHIPPED = "configs/sweep_btc_altcoins.yaml"
SWEEP = SHIPPED
TUBES = "target/release/tubes"
LOOP = "target/release/sweep-loop"
N_VALUES = list(range(50, 5001, 50))
COINS = ["ETH", "BNB", "LTC", "XMR", "XRP", "XTZ"]
UPDATES = None  # read from the sweep's summary


def single_config(n, coin, out_dir):
    """The template with one combination's values written in, and no sweep: section."""
    text = open(SWEEP).read()
    body = text[text.index("pipeline_type:"):]
    body = body.replace("${coin}", coin).replace('"${N}"', str(n))
    body = body.replace("out/sweep_btc_altcoins.csv", f"{out_dir}/single_{n}_{coin}.csv")
    path = f"{out_dir}/single_{n}_{coin}.yaml"
    with open(path, "w") as f:
        f.write(body)
    return path


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return dt, r.stderr


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--sample", type=int, default=6, help="single runs per round for (c)")
    args = p.parse_args()
    for exe in (TUBES, LOOP):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: run cargo build --release first")
    out_dir = "out/bench_sweep"
    os.makedirs(out_dir, exist_ok=True)
    b_config = single_config(1000, "ETH", out_dir)
    step = len(N_VALUES) * len(COINS) // args.sample
    grid = [(n, c) for n in N_VALUES for c in COINS]
    c_configs = [single_config(n, c, out_dir) for n, c in grid[step // 2::step][: args.sample]]

    _, said = timed([TUBES, "run", SWEEP, "-q", "--no-progress"])
    timed([LOOP, f"{out_dir}/loop.csv"])
    if open("out/sweep_btc_altcoins.csv", "rb").read() != open(f"{out_dir}/loop.csv", "rb").read():
        sys.exit("(a) and (d) wrote different files")
    summary = subprocess.run([TUBES, "run", SWEEP, "--no-progress"], capture_output=True, text=True).stderr
    updates = int(summary.split("; ")[1].split(" datapoint-updates")[0]) if "; " in summary else 0

    times = {"a": [], "b": [], "c": [], "d": []}
    for r in range(args.rounds):
        times["a"].append(timed([TUBES, "run", SWEEP, "-q", "--no-progress"])[0])
        times["b"].append(timed([TUBES, "run", b_config, "-q", "--no-progress"])[0])
        singles = [timed([TUBES, "run", c, "-q", "--no-progress"])[0] for c in c_configs]
        times["c"].append(statistics.mean(singles) * len(grid))
        times["d"].append(timed([LOOP, f"{out_dir}/loop.csv"])[0])
        print(f"round {r + 1}: " + "  ".join(f"({k}) {v[-1]:.3f} s" for k, v in times.items()), flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(f"median of {args.rounds} rounds, {os.cpu_count()} cores:")
    print(f"  (a) the sweep, one run          {med['a']:8.3f} s   {updates / med['a'] / 1e6:6.1f} M datapoint-updates/s")
    print(f"  (b) one combination             {med['b']:8.3f} s")
    print(f"  (c) 600 separate runs (est.)    {med['c']:8.3f} s   from {len(c_configs)} sampled runs per round")
    print(f"  (d) hand-written loop           {med['d']:8.3f} s   {updates / med['d'] / 1e6:6.1f} M datapoint-updates/s")
    print(f"  (a)/(d) = {med['a'] / med['d']:.2f}   (a)/(b) = {med['a'] / med['b']:.1f}   (c)/(a) = {med['c'] / med['a']:.0f}")


if __name__ == "__main__":
    main()

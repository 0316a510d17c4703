#!/usr/bin/env python3
"""A wide sweep: the shipped sweep with many more values of N, timed whole, in turns.

    cargo build --release
    python3 benches/sweep_wide.py [--to 833300] [--rounds 2] [--other PATH/TO/OLDER/tubes]

Writes out/bench_sweep/wide.yaml: the shipped sweep's config with N from 50 to --to in
steps of 50 (the default makes 99,996 combinations, just under the limit of 100,000), then runs
`tubes run` on it --rounds times (in turns with --other, an older build, when given) and prints,
for each run, its wall time, the summary's split between checking-reading-merging and running, and
the process's peak resident memory. Uses only the standard library.
"""
import argparse
import os
import subprocess
import sys

SHIPPED = "configs/sweep_btc_altcoins.yaml"
TUBES = "target/release/tubes"
OUT_DIR = "out/bench_sweep"


def wide_config(to):
    text = open(SHIPPED).read()
    for old, new in [
        ("N: {from: 50, to: 5000, step: 50}", f"N: {{from: 50, to: {to}, step: 50}}"),
        ("{CSV: out/sweep_btc_altcoins.csv}", f"{{CSV: {OUT_DIR}/wide.csv}}"),
    ]:
        if old not in text:
            sys.exit(f"{SHIPPED} no longer holds `{old}`: update this script")
        text = text.replace(old, new)
    path = f"{OUT_DIR}/wide.yaml"
    with open(path, "w") as f:
        f.write(text)
    return path


def run(exe, config):
    """Wall seconds, the summary line, and the peak RSS in MB of one `tubes run`."""
    # ru_maxrss of RUSAGE_CHILDREN is the largest of all children so far: run each in a fresh
    # process whose only child is tubes.
    probe = (
        "import resource,subprocess,sys,time;"
        "t=time.perf_counter();"
        "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE,text=True);"
        "dt=time.perf_counter()-t;"
        "print(r.returncode);print(dt);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "print(r.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", probe, exe, "run", config, "--no-progress"],
                         capture_output=True, text=True).stdout.split("\n", 3)
    if out[0] != "0":
        sys.exit(f"{exe} run {config} failed:\n{out[3] if len(out) > 3 else ''}")
    summary = next((l for l in out[3].splitlines() if l.startswith("tubes sweep:")), "")
    return float(out[1]), summary, int(out[2]) / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--to", type=int, default=833300, help="the last N (steps of 50 from 50)")
    p.add_argument("--rounds", type=int, default=2, help="at least 1")
    p.add_argument("--other", help="an older tubes binary, run in turns with this one")
    args = p.parse_args()
    if not os.path.exists(TUBES):
        sys.exit(f"{TUBES} is missing: run cargo build --release first")
    os.makedirs(OUT_DIR, exist_ok=True)
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")
    config = wide_config(args.to)
    builds = [TUBES] + ([args.other] if args.other else [])
    for r in range(1, args.rounds + 1):
        for exe in builds:
            wall, summary, rss = run(exe, config)
            split = summary.split(" wall (")[-1].split(")")[0] if " wall (" in summary else "?"
            print(f"round {r}: {exe}: {wall:.2f} s wall ({split}), peak {rss:.0f} MB")
    print(summary.split(", ")[0] if summary else "")


if __name__ == "__main__":
    main()

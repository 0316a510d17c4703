#!/usr/bin/env python3
"""Kafka and Redis Streams measured on loopback, whole processes, in turns.

    cargo build --release
    tools/mq-brokers start out/mq          # Tansu on 127.0.0.1:9092, redis-server on 127.0.0.1:6379
    python3 benches/queues.py [--copies 10] [--rounds 3] [--rate 20k]
    tools/mq-brokers stop out/mq

The Binance capture (34,419 trades) is written --copies times into one file, each copy's trade ids and
times moved past the last (so no trade repeats), and then, per round:
  publish   tubes publish of the file into a new Kafka topic and a new Redis stream: messages/s produced
  batch     a Batch run of the seed question over each (every message read, parsed and answered):
            messages/s consumed
  sink      a Batch run with a threshold of 0 (a row per BTC trade) writing its rows to a new Kafka
            topic, a new Redis stream, or Discard: rows/s of each output, from the difference
and once, at --rate messages/s: a live run of the seed question while `tubes publish --rate` feeds the
topic (and then the stream), with latency_from: publish, so its sink's end-to-end latency runs from
each message's publish time (milliseconds: the Kafka timestamp and the Redis id have no finer
resolution), next to `tubes bench --feed` at the same rate (the WebSocket path, wire to sink).
Prints medians. Uses only the standard library.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

TUBES = "target/release/tubes"
CAPTURE = "testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson"
DIR = "out/bench_queues"


def copies_file(n):
    """The capture n times, each copy's ids and times after the previous copy's."""
    lines = [json.loads(l) for l in open(CAPTURE) if l.strip()]
    span_ms = lines[-1]["data"]["T"] - lines[0]["data"]["T"] + 1
    id_span = {}
    for l in lines:
        s = l["data"]["s"]
        id_span[s] = max(id_span.get(s, 0), l["data"]["t"])
    low = {s: min(l["data"]["t"] for l in lines if l["data"]["s"] == s) for s in id_span}
    path = f"{DIR}/trades_x{n}.ndjson"
    with open(path, "w") as f:
        for k in range(n):
            for l in lines:
                d = dict(l["data"])
                s = d["s"]
                d["t"] += k * (id_span[s] - low[s] + 1)
                d["T"] += k * span_ms
                d["E"] += k * span_ms
                f.write(json.dumps({"stream": l["stream"], "data": d}, separators=(",", ":")) + "\n")
    return path, n * len(lines)


def run(args, **kw):
    t = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{p.stderr}")
    return wall, p.stderr


def config(kind, name, threshold, out):
    """The seed question over topic or stream `name`, Batch over every copy, rows to `out`."""
    if kind == "kafka":
        src = f"Kafka: {{brokers: 127.0.0.1:9092, topic: {name}, format: Binance, market: MARKET}}"
    else:
        src = f'Redis: {{url: "redis://127.0.0.1:6379", stream: {name}, format: Binance, market: MARKET}}'
    text = open("configs/kafka_btc_eth_batch.yaml").read()
    text = re.sub(r"Batch: \[.*\]", 'Batch: ["2024-01-01T00:00:00Z", "2030-01-01T00:00:00Z"]', text)
    text = text.replace(
        "Kafka: {brokers: 127.0.0.1:9092, topic: trades, format: Binance, market: btcusdt}",
        src.replace("MARKET", "btcusdt"),
    ).replace(
        "Kafka: {brokers: 127.0.0.1:9092, topic: trades, format: Binance, market: ethusdt}",
        src.replace("MARKET", "ethusdt"),
    )
    text = text.replace("threshold: 10", f"threshold: {threshold}")
    text = text.replace("datasink: {CSV: out/kafka_btc_eth_batch.csv}", f"datasink: {out}")
    path = f"{DIR}/{kind}_{name}_{threshold}.yaml"
    open(path, "w").write(text)
    return path


def latency_line(stderr, what):
    for l in stderr.splitlines():
        if l.startswith(what):
            return " ".join(l.split()[len(what.split()):])
    return "?"


def live(kind, rate, path, n):
    """A live run fed at `rate` by tubes publish; its sink's end-to-end row of the latency table."""
    name = f"live_{kind}_{int(time.time() * 1000)}"
    cfg = open("configs/kafka_btc_eth.yaml" if kind == "kafka" else "configs/redis_btc_eth.yaml").read()
    cfg = cfg.replace("stream: trades", f"stream: {name}").replace("topic: trades", f"topic: {name}")
    cfg = cfg.replace("market: btcusdt}", "market: btcusdt, latency_from: publish}")
    cfg = cfg.replace("market: ethusdt}", "market: ethusdt, latency_from: publish}")
    cfg = re.sub(r"datasink:\n(    - .*\n)+", "datasink: Discard\n", cfg)
    cfg_path = f"{DIR}/live_{kind}.yaml"
    open(cfg_path, "w").write(cfg)
    to = ["--kafka", "127.0.0.1:9092", "--topic", name] if kind == "kafka" else [
        "--redis", "redis://127.0.0.1:6379", "--stream", name]
    # The topic or stream exists before the run starts: its first message comes from a publish of one.
    run([TUBES, "publish", *to, "--limit", "1", path])
    tubes = subprocess.Popen([TUBES, "run", cfg_path, "--idle-exit", "2s"], stderr=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, text=True)
    time.sleep(1)
    run([TUBES, "publish", *to, "--skip", "1", "--limit", str(n), "--rate", str(rate), path])
    err = tubes.communicate()[1]
    return latency_line(err, "sink sink (end-to-end)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=20000)
    a = ap.parse_args()
    os.makedirs(DIR, exist_ok=True)
    path, n = copies_file(a.copies)
    print(f"{n} messages ({a.copies} copies of the capture)")
    times = {}
    for r in range(a.rounds):
        for kind in ["kafka", "redis"]:
            name = f"bench_{r}_{int(time.time() * 1000)}"
            to = ["--kafka", "127.0.0.1:9092", "--topic", name] if kind == "kafka" else [
                "--redis", "redis://127.0.0.1:6379", "--stream", name]
            w, _ = run([TUBES, "publish", *to, path])
            times.setdefault(f"{kind} publish", []).append(w)
            w, _ = run([TUBES, "run", "-q", config(kind, name, 10, "Discard")])
            times.setdefault(f"{kind} batch", []).append(w)
            for out in ["Discard", f"{{Kafka: {{topic: rows_{name}}}}}", f"{{Redis: {{stream: rows_{name}}}}}"]:
                label = out.split(":")[0].strip("{")
                w, _ = run([TUBES, "run", "-q", config(kind, name, 0, out)])
                times.setdefault(f"{kind} sink {label}", []).append(w)
    rows = n * 19904 // 34419  # a row per BTC trade at threshold 0
    print(f"{'':28} {'median s':>9} {'rate':>14}")
    for k, v in times.items():
        m = statistics.median(v)
        per = rows if " sink " in k else n
        print(f"{k:28} {m:9.3f} {per / m / 1e3:10.0f} k/s")
    for kind in ["kafka", "redis"]:
        base = statistics.median(times[f"{kind} sink Discard"])
        for out in ["Kafka", "Redis"]:
            extra = statistics.median(times[f"{kind} sink {out}"]) - base
            print(f"  over {kind}: the {out} output adds {extra:+.3f} s for {rows} rows")
    print(f"live at {a.rate} messages/s, publish to sink:     count p50 p90 p99 p99.9 max")
    for kind in ["kafka", "redis"]:
        print(f"  {kind:8} {live(kind, a.rate, path, a.rate * 5)}")
    t = time.perf_counter()
    p = subprocess.run([TUBES, "bench", "--feed", "--rate", str(a.rate), "--duration", "5s"],
                       capture_output=True, text=True)
    err, _ = p.stderr, p.stdout
    line = next((l for l in (err + _).splitlines() if l.startswith("rate")), "?")
    print(f"  websocket (tubes bench --feed, wire to sink): {line[line.find('end-to-end'):]}")


if __name__ == "__main__":
    main()

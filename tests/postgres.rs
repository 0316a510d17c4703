//! PostgreSQL as a generator and a sink, against a real server, read back with `psql`. These need a
//! server: `tools/pg-cluster start DIR` starts one and prints its URL; give it as `TUBES_PG_URL` and run
//! `cargo test --release --test postgres -- --ignored` (`.ci/run` does).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const NEEDS: &str = "needs a PostgreSQL server in TUBES_PG_URL (tools/pg-cluster start DIR)";

fn url() -> String {
    std::env::var("TUBES_PG_URL").expect(NEEDS)
}

/// `sql` through `psql`: a line per row, cells separated by `|`.
fn psql(url: &str, sql: &str) -> Vec<String> {
    output_lines(Command::new("psql").args([url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]))
}

/// The main job's bars in table `table`, with `tools/pg-load`.
fn load(url: &str, table: &str) {
    psql(url, &format!("drop table if exists {table}"));
    let ok = Command::new("tools/pg-load")
        .args([
            url,
            table,
            "testdata/binance_BTCUSDT_1m.csv",
            "testdata/binance_ETHUSDT_1m.csv",
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok, "tools/pg-load failed");
}

/// The shipped Postgres config against `url`, reading bars from `bars`, writing rows to table `out`
/// (dropped first) and to `dir/rows.csv`.
fn config(dir: &Path, url: &str, bars: &str, out: &str) -> PathBuf {
    psql(url, &format!("drop table if exists {out}"));
    let text = std::fs::read_to_string("configs/postgres_btc_eth.yaml")
        .unwrap()
        .replace("postgresql://tubes@127.0.0.1:54329/postgres", url)
        .replace("from bars", &format!("from {bars}"))
        .replace("table: btc_eth_volume", &format!("table: {out}"))
        .replace(
            "out/postgres_btc_eth.csv",
            &dir.join("rows.csv").display().to_string(),
        );
    write_config(dir, "pg.yaml", &text)
}

#[test]
#[ignore = "needs a PostgreSQL server in TUBES_PG_URL (tools/pg-cluster start DIR)"]
fn rows_read_from_and_written_to_postgres_equal_the_plain_loop() {
    let (url, dir) = (url(), tempdir());
    load(&url, "bars_a");
    let cfg = config(dir.path(), &url, "bars_a", "rows_a");
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let want = main_job_windows();
    // psql prints doubles with their shortest exact digits (PostgreSQL 12 and later).
    let rows = psql(
        &url,
        "select (extract(epoch from \"timestamp\") * 1000)::int8, \"btc_vol_sum.sum_Volume\", \
         \"eth_counter.count\", \"eth_counter.sum_Volume\" from rows_a",
    );
    assert_eq!(rows.len(), want.len());
    let mut got: Vec<(i64, f64, u64, f64)> = rows
        .iter()
        .map(|r| {
            let c: Vec<&str> = r.split('|').collect();
            (
                c[0].parse().unwrap(),
                c[1].parse().unwrap(),
                c[2].parse().unwrap(),
                c[3].parse().unwrap(),
            )
        })
        .collect();
    got.sort_by_key(|r| r.0);
    assert_eq!(got, want);
    let types = psql(
        &url,
        "select data_type from information_schema.columns where table_name = 'rows_a' order by ordinal_position",
    );
    assert_eq!(
        types,
        [
            "timestamp with time zone",
            "double precision",
            "bigint",
            "double precision"
        ]
    );
    // The CSV output of the same run: the same windows.
    let csv = read_csv(&dir.path().join("rows.csv"));
    assert_eq!(csv.len() - 1, want.len());
}

#[test]
#[ignore = "needs a PostgreSQL server in TUBES_PG_URL (tools/pg-cluster start DIR)"]
fn a_password_never_appears_in_any_output() {
    let (url, dir) = (url(), tempdir());
    load(&url, "bars_b");
    // The test cluster trusts loopback, so any password is accepted (and ignored).
    let secret = "hunter2-never-shown";
    let with_password = url.replacen("://tubes@", &format!("://tubes:{secret}@"), 1);
    assert_ne!(with_password, url, "TUBES_PG_URL names the user tubes");
    let cfg = config(dir.path(), &with_password, "bars_b", "rows_b");
    let mut outputs = Vec::new();
    for args in [vec!["check"], vec!["graph"], vec!["run"]] {
        let mut a = args.clone();
        a.push(cfg.to_str().unwrap());
        let (code, out, err) = tubes(&a);
        assert_eq!(code, 0, "{args:?}: {err}");
        outputs.push(out + &err);
    }
    // Failures name the table and the server, not the password: a table of other columns, a table
    // that does not exist without create: true, a query that does not run, a server that is not there.
    psql(
        &url,
        "drop table if exists rows_c; create table rows_c (a int)",
    );
    let other = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("table: rows_b", "table: rows_c");
    let missing = other
        .replace("table: rows_c", "table: rows_none")
        .replace("create: true", "create: false");
    let bad_query = other.replace("from bars_b where", "from no_such_table where");
    let port = with_password
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let no_server = other.replace(&format!(":{port}/"), ":1/");
    let cases = [
        (other, "table 'rows_c' has the columns (a), and the sink writes (timestamp, btc_vol_sum.sum_Volume, eth_counter.count, eth_counter.sum_Volume)"),
        (missing, "table 'rows_none' does not exist; create it, or add create: true"),
        (bad_query, "the query does not run"),
        (no_server, "cannot connect to postgresql://tubes@127.0.0.1:1/postgres"),
    ];
    for (text, want) in cases {
        let bad = write_config(dir.path(), "bad.yaml", &text);
        let (code, out, err) = tubes(&["run", bad.to_str().unwrap()]);
        assert_ne!(code, 0, "{err}");
        assert!(err.contains(want), "want {want}:\n{err}");
        outputs.push(out + &err);
    }
    for o in &outputs {
        assert!(!o.contains(secret), "the password was shown:\n{o}");
    }
}

#[test]
#[ignore = "needs a PostgreSQL server in TUBES_PG_URL (tools/pg-cluster start DIR)"]
fn a_query_out_of_time_order_stops_the_run_naming_the_row() {
    let (url, dir) = (url(), tempdir());
    load(&url, "bars_d");
    let cfg = config(dir.path(), &url, "bars_d", "rows_d");
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "where symbol = 'BTCUSDT' order by ts",
        "where symbol = 'BTCUSDT' order by ts desc",
        1,
    );
    let bad = write_config(dir.path(), "desc.yaml", &text);
    let (code, _, err) = tubes(&["run", "-q", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("row 2 of the query (time ")
            && err.contains(
                "comes before the row before it; order the query by its time column (ts)"
            ),
        "{err}"
    );
}

#[test]
#[ignore = "needs a PostgreSQL server in TUBES_PG_URL (tools/pg-cluster start DIR)"]
fn a_whole_number_time_column_in_its_unit_gives_the_same_answer() {
    let (url, dir) = (url(), tempdir());
    load(&url, "bars_e");
    // The bars with their time as ms since the epoch (bigint) and their volume as numeric.
    psql(
        &url,
        "drop table if exists bars_ms; create table bars_ms as select \
         (extract(epoch from ts) * 1000)::int8 as ts, symbol, volume::numeric as volume from bars_e",
    );
    let cfg = config(dir.path(), &url, "bars_ms", "rows_e");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("time: ts", "time: ts\n        unit: ms");
    let cfg = write_config(dir.path(), "ms.yaml", &text);
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows = read_csv(&dir.path().join("rows.csv"));
    let want = main_job_windows();
    assert_eq!(rows.len() - 1, want.len());
    for (row, w) in rows[1..].iter().zip(&want) {
        assert_eq!(ms(&row[0]), w.0);
        assert_eq!(row[1].parse::<f64>().unwrap(), w.1);
        assert_eq!(row[2].parse::<u64>().unwrap(), w.2);
        assert_eq!(row[3].parse::<f64>().unwrap(), w.3);
    }
}

/// The shipped sweep over N = 500, 2000 and ETH, XTZ, writing CSV to `csv` and table `table` at `url`
/// (dropped first), as a config in `dir`.
fn small_sweep(dir: &Path, url: &str, csv: &Path, table: &str) -> PathBuf {
    psql(url, &format!("drop table if exists {table}"));
    let text = sweep_csv_only("sweep_btc_altcoins")
        .replace("{from: 50, to: 5000, step: 50}", "[500, 2000]")
        .replace("[ETH, BNB, LTC, XMR, XRP, XTZ]", "[ETH, XTZ]")
        .replace(
            "{CSV: out/sweep_btc_altcoins.csv}",
            &format!(
                "[{{CSV: {}}}, {{Postgres: {{url: \"{url}\", table: {table}, create: true}}}}]",
                csv.display()
            ),
        );
    write_config(dir, &format!("{table}.yaml"), &text)
}

/// `table`'s columns and their types, in order.
fn column_types(url: &str, table: &str) -> Vec<String> {
    psql(
        url,
        &format!("select column_name || ' ' || data_type from information_schema.columns where table_name = '{table}' order by ordinal_position"),
    )
}

/// Asserts that `table` holds the rows of the sweep's CSV output `csv`, in the order they were
/// appended, each cell equal to the CSV's.
fn assert_sweep_table(url: &str, table: &str, csv: &Path) {
    let lines = read_csv(csv);
    assert_eq!(
        lines[0].join(","),
        "N,coin,timestamp,btc_vol_sum.sum_Volume,alt_counter.count,alt_counter.sum_Volume"
    );
    let rows = psql(
        url,
        &format!(
            "select \"N\", coin, to_char(\"timestamp\" at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
             \"btc_vol_sum.sum_Volume\", \"alt_counter.count\", \"alt_counter.sum_Volume\" from {table} order by ctid"
        ),
    );
    assert_eq!(rows.len(), lines.len() - 1);
    assert!(rows.len() > 1400, "{} rows", rows.len());
    for (row, line) in rows.iter().zip(&lines[1..]) {
        let c: Vec<&str> = row.split('|').collect();
        assert_eq!(c[..3], [&line[0], &line[1], &line[2]], "{row}");
        assert_eq!(c[4], line[4], "{row}");
        for (got, want) in [(c[3], &line[3]), (c[5], &line[5])] {
            assert_eq!(
                got.parse::<f64>().unwrap(),
                want.parse::<f64>().unwrap(),
                "{row}"
            );
        }
    }
}

#[test]
#[ignore = "needs a PostgreSQL server in TUBES_PG_URL (tools/pg-cluster start DIR)"]
fn a_sweep_writes_one_postgres_table_with_its_parameters_first_and_shards_append_in_order() {
    let (url, dir) = (url(), tempdir());
    let csv = dir.path().join("sweep.csv");
    // The CSV output of the same run is checked against single runs in tests/sweep.rs; the table holds
    // the same rows, typed.
    let cfg = small_sweep(dir.path(), &url, &csv, "sweep_pg");
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_sweep_table(&url, "sweep_pg", &csv);
    assert_eq!(
        column_types(&url, "sweep_pg"),
        [
            "N bigint",
            "coin text",
            "timestamp timestamp with time zone",
            "btc_vol_sum.sum_Volume double precision",
            "alt_counter.count bigint",
            "alt_counter.sum_Volume double precision",
        ]
    );
    // Two shards, one after the other, append the whole sweep's rows, in order.
    let part = dir.path().join("part.csv");
    let cfg = small_sweep(dir.path(), &url, &part, "shards_pg");
    for shard in ["1/2", "2/2"] {
        let (code, _, err) = tubes(&["run", "-q", "--shard", shard, cfg.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
    }
    assert_sweep_table(&url, "shards_pg", &csv);
    // A table of other columns is refused before any row is written, naming both sets of columns.
    let before = std::fs::read(&part).unwrap();
    psql(
        &url,
        "drop table if exists other_pg; create table other_pg (n bigint)",
    );
    let cfg = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("table: shards_pg", "table: other_pg");
    let cfg = write_config(dir.path(), "other.yaml", &cfg);
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "table 'other_pg' has the columns (n), and the sink writes (N, coin, timestamp,"
        ),
        "{err}"
    );
    assert_eq!(psql(&url, "select count(*) from other_pg"), ["0"]);
    // A parameter column whose type cannot hold the parameter's values is refused at start too.
    psql(
        &url,
        "drop table if exists typed_pg; create table typed_pg (\"N\" bigint, coin bigint, \"timestamp\" timestamptz, \
         \"btc_vol_sum.sum_Volume\" double precision, \"alt_counter.count\" bigint, \"alt_counter.sum_Volume\" double precision)",
    );
    let typed = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("table: other_pg", "table: typed_pg");
    let typed = write_config(dir.path(), "typed.yaml", &typed);
    let (code, _, err) = tubes(&["run", "-q", typed.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("table 'typed_pg' has the column 'coin' of type bigint, and the sweep's values of coin are text"),
        "{err}"
    );
    // The sweep never started: its CSV output's partial file, made before the table was refused, is
    // gone, and the CSV the shards wrote is as it was.
    assert!(!dir.path().join("part.csv.partial").exists());
    assert_eq!(std::fs::read(&part).unwrap(), before);
}

#[test]
#[ignore = "needs a PostgreSQL server in TUBES_PG_URL (tools/pg-cluster start DIR)"]
fn a_sweeps_text_columns_are_text_in_its_postgres_table() {
    let (url, dir) = (url(), tempdir());
    psql(&url, "drop table if exists bins_pg");
    let csv = dir.path().join("w.csv");
    let text = std::fs::read_to_string("configs/binning_per_symbol.yaml")
        .unwrap()
        .replace("window: {tumbling: 1m}", "window: {tumbling: \"${W}\"}")
        .replace("pipeline_type:", "sweep:\n  W: [1m, 5m]\npipeline_type:")
        .replace(
            "CSV: out/binning_per_symbol.csv",
            &format!(
                "[{{CSV: {}}}, {{Postgres: {{url: \"{url}\", table: bins_pg, create: true}}}}]",
                csv.display()
            ),
        );
    let cfg = write_config(dir.path(), "windows.yaml", &text);
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        column_types(&url, "bins_pg"),
        [
            "W text",
            "timestamp timestamp with time zone",
            "bins.symbol text",
            "bins.window_start text",
            "bins.window_end text",
            "bins.vwap double precision",
            "bins.sum_quantity double precision",
            "bins.count bigint",
        ]
    );
    let lines = read_csv(&csv);
    let rows = psql(
        &url,
        "select \"W\", to_char(\"timestamp\" at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
         \"bins.symbol\", \"bins.window_start\", \"bins.window_end\", \"bins.vwap\", \"bins.sum_quantity\", \
         \"bins.count\" from bins_pg order by ctid",
    );
    assert_eq!(rows.len(), lines.len() - 1);
    assert!(rows.len() >= 12, "{} rows", rows.len());
    for (row, line) in rows.iter().zip(&lines[1..]) {
        let c: Vec<&str> = row.split('|').collect();
        assert_eq!(c[..5], line[..5], "{row}");
        for (got, want) in c[5..].iter().zip(&line[5..]) {
            assert_eq!(
                got.parse::<f64>().unwrap(),
                want.parse::<f64>().unwrap(),
                "{row}"
            );
        }
    }
}

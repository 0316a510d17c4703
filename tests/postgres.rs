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

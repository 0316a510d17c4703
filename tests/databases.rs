//! Database and columnar outputs, read back by independent readers (Python's `sqlite3` module) and
//! compared with the plain loop's answer.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The shipped SQLite config writing to `db`, with `extra` added to the SQLite output's mapping.
fn sqlite_config(dir: &Path, db: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string("configs/btc_eth_volume_sqlite.yaml")
        .unwrap()
        .replace(
            "path: out/tubes.sqlite",
            &format!("path: {}{extra}", db.display()),
        );
    write_config(dir, "sqlite.yaml", &text)
}

/// The rows `sql` selects, read by Python's `sqlite3` module: a line per row, its cells separated by
/// commas, each as Python's `repr` writes it (a double's shortest exact digits).
fn sqlite3(db: &Path, sql: &str) -> Vec<String> {
    let script = "import sqlite3, sys\n\
        db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n\
        for row in db.execute(sys.argv[2]):\n    print(','.join(str(c) if isinstance(c, str) else repr(c) for c in row))\n";
    output_lines(Command::new("python3").args(["-c", script, db.to_str().unwrap(), sql]))
}

/// A copy of the BTC bars in `dir` whose Volume is not a number on line 60,000 (of 66,000, in the
/// main job's range): a run stops there.
fn bad_btc(dir: &Path) -> PathBuf {
    let btc = std::fs::read_to_string("testdata/binance_BTCUSDT_1m.csv").unwrap();
    let mut lines: Vec<String> = btc.lines().map(str::to_string).collect();
    let bad_line = &mut lines[59_999];
    let last = bad_line.rfind(',').unwrap();
    bad_line.replace_range(last + 1.., "oops");
    let path = dir.join("btc.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Asserts that table `table` of `db` holds `times` copies of the main job's rows, in order.
fn assert_main_job(db: &Path, table: &str, times: usize) {
    let want = main_job_windows();
    let rows = sqlite3(
        db,
        &format!("select timestamp, \"btc_vol_sum.sum_Volume\", \"eth_counter.count\", typeof(\"eth_counter.count\"), \"eth_counter.sum_Volume\" from {table} order by rowid"),
    );
    assert_eq!(rows.len(), want.len() * times);
    for (row, w) in rows.iter().zip(want.iter().cycle()) {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(ms(cells[0]), w.0, "{row}");
        assert_eq!(cells[1].parse::<f64>().unwrap(), w.1, "{row}");
        assert_eq!(cells[2].parse::<u64>().unwrap(), w.2, "{row}");
        assert_eq!(
            cells[3], "integer",
            "a count is stored as an integer: {row}"
        );
        assert_eq!(cells[4].parse::<f64>().unwrap(), w.3, "{row}");
    }
}

fn tables(db: &Path) -> Vec<String> {
    sqlite3(
        db,
        "select name from sqlite_master where type = 'table' order by name",
    )
}

#[test]
fn sqlite_rows_equal_the_plain_loop_and_a_second_run_replaces_them() {
    let dir = tempdir();
    let db = dir.path().join("out/tubes.sqlite");
    let cfg = sqlite_config(dir.path(), &db, "");
    for _ in 0..2 {
        let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert_main_job(&db, "btc_eth_volume", 1);
        assert_eq!(tables(&db), ["btc_eth_volume"]);
    }
}

#[test]
fn a_failed_run_leaves_the_previous_table_whole_and_says_where_its_rows_are() {
    let dir = tempdir();
    let db = dir.path().join("tubes.sqlite");
    let cfg = sqlite_config(dir.path(), &db, "");
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let bad_btc = bad_btc(dir.path());
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("testdata/binance_BTCUSDT_1m.csv", bad_btc.to_str().unwrap());
    let bad = write_config(dir.path(), "bad.yaml", &text);
    let (code, _, err) = tubes(&["run", "-q", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("'oops'"), "{err}");
    assert!(
        err.contains("table 'btc_eth_volume' of")
            && err.contains("the rows this run wrote are in table 'btc_eth_volume__partial'"),
        "{err}"
    );
    assert_main_job(&db, "btc_eth_volume", 1);
    let partial = sqlite3(&db, "select count(*) from btc_eth_volume__partial");
    assert!(partial[0].parse::<usize>().unwrap() > 4000, "{partial:?}");
    // The next good run replaces the table and leaves no partial table.
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tables(&db), ["btc_eth_volume"]);
}

#[test]
fn append_adds_rows_and_a_table_of_other_columns_is_refused_at_start() {
    let dir = tempdir();
    let db = dir.path().join("tubes.sqlite");
    let cfg = sqlite_config(dir.path(), &db, ", mode: append");
    for _ in 0..2 {
        let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
    }
    assert_main_job(&db, "btc_eth_volume", 2);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("eth_counter: [count, sum_Volume]", "eth_counter: [count]");
    let other = write_config(dir.path(), "other.yaml", &text);
    let (code, _, err) = tubes(&["run", "-q", other.to_str().unwrap()]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("table 'btc_eth_volume' has the columns (timestamp, btc_vol_sum.sum_Volume, eth_counter.count, eth_counter.sum_Volume), and the sink writes (timestamp, btc_vol_sum.sum_Volume, eth_counter.count)"),
        "{err}"
    );
    assert_main_job(&db, "btc_eth_volume", 2);
}

#[test]
fn sqlite_config_mistakes_are_named_at_their_line() {
    let dir = tempdir();
    let db = dir.path().join("tubes.sqlite");
    for (extra, table, want) in [
        (", mode: upsert", "btc_eth_volume", "unknown mode 'upsert'"),
        (
            "",
            "sqlite_rows",
            "names starting with sqlite_ are SQLite's own",
        ),
        ("", "rows__partial", "the __partial suffix"),
    ] {
        let cfg = sqlite_config(dir.path(), &db, extra);
        let text = std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("table: btc_eth_volume", &format!("table: {table}"));
        std::fs::write(&cfg, &text).unwrap();
        let (code, _, err) = tubes(&["check", cfg.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        let line = 1 + text
            .lines()
            .position(|l| l.contains("datasink: {SQLite"))
            .unwrap();
        assert!(
            err.contains(&format!("sqlite.yaml:{line}:")) && err.contains(want),
            "{err}"
        );
    }
    assert!(!db.exists(), "a config that does not check creates nothing");
}

/// The rows of a Parquet file, read by the `parquet` crate's record reader.
fn parquet_rows(path: &Path) -> Vec<parquet::record::Row> {
    use parquet::file::reader::FileReader;
    let reader = parquet::file::reader::SerializedFileReader::try_from(path).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// The main job with its rows written to Parquet (`payload` is the Parquet output's payload).
fn parquet_config(dir: &Path, payload: &str) -> PathBuf {
    let text = std::fs::read_to_string("configs/btc_eth_volume.yaml")
        .unwrap()
        .replace(
            "[Stdout, {CSV: out/btc_eth_volume.csv}]",
            &format!("{{Parquet: {payload}}}"),
        );
    write_config(dir, "parquet.yaml", &text)
}

#[test]
fn parquet_rows_are_typed_and_equal_the_plain_loop() {
    use parquet::record::RowAccessor;
    let dir = tempdir();
    let out = dir.path().join("rows.parquet");
    let cfg = parquet_config(
        dir.path(),
        &format!("{{path: {}, row_group: 1000}}", out.display()),
    );
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!dir.path().join("rows.parquet.partial").exists());
    let want = main_job_windows();
    let rows = parquet_rows(&out);
    assert_eq!(rows.len(), want.len());
    for (row, w) in rows.iter().zip(&want) {
        // Typed accessors: a timestamp in ms, doubles, and the count as a 64-bit integer.
        assert_eq!(row.get_timestamp_millis(0).unwrap(), w.0);
        assert_eq!(row.get_double(1).unwrap(), w.1);
        assert_eq!(row.get_long(2).unwrap(), w.2 as i64);
        assert_eq!(row.get_double(3).unwrap(), w.3);
    }
    use parquet::file::reader::FileReader;
    let reader = parquet::file::reader::SerializedFileReader::try_from(out.as_path()).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.num_row_groups(), want.len().div_ceil(1000));
    let names: Vec<String> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "timestamp",
            "btc_vol_sum.sum_Volume",
            "eth_counter.count",
            "eth_counter.sum_Volume"
        ]
    );
}

#[test]
fn a_sweep_writes_one_parquet_file_with_its_parameters_first() {
    use parquet::record::RowAccessor;
    let dir = tempdir();
    let (pq, csv) = (
        dir.path().join("sweep.parquet"),
        dir.path().join("sweep.csv"),
    );
    // Two thresholds by two coins, with a row group smaller than one combination's rows.
    let text = sweep_csv_only("sweep_btc_altcoins")
        .replace("{from: 50, to: 5000, step: 50}", "[500, 2000]")
        .replace("[ETH, BNB, LTC, XMR, XRP, XTZ]", "[ETH, XTZ]")
        .replace(
            "{CSV: out/sweep_btc_altcoins.csv}",
            &format!(
                "[{{CSV: {}}}, {{Parquet: {{path: {}, row_group: 700}}}}]",
                csv.display(),
                pq.display()
            ),
        );
    let cfg = write_config(dir.path(), "sweep.yaml", &text);
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // The CSV output of the same run is checked against a plain loop in tests/sweep.rs; the Parquet
    // file holds the same rows, typed.
    let lines = read_csv(&csv);
    assert_eq!(lines[0][..3], ["N", "coin", "timestamp"]);
    let rows = parquet_rows(&pq);
    assert_eq!(rows.len(), lines.len() - 1);
    assert!(rows.len() > 1400, "{} rows", rows.len());
    for (row, line) in rows.iter().zip(&lines[1..]) {
        assert_eq!(row.get_long(0).unwrap().to_string(), line[0]);
        assert_eq!(row.get_string(1).unwrap(), &line[1]);
        assert_eq!(row.get_timestamp_millis(2).unwrap(), ms(&line[2]));
        assert_eq!(row.get_double(3).unwrap(), line[3].parse::<f64>().unwrap());
        assert_eq!(row.get_long(4).unwrap(), line[4].parse::<i64>().unwrap());
        assert_eq!(row.get_double(5).unwrap(), line[5].parse::<f64>().unwrap());
    }
}

/// The shipped per-symbol binning with its window's length swept (1 and 5 minutes), as a config in
/// `dir` writing `outputs` (a `datasink:` value).
fn window_sweep(dir: &Path, outputs: &str) -> PathBuf {
    let text = std::fs::read_to_string("configs/binning_per_symbol.yaml")
        .unwrap()
        .replace("window: {tumbling: 1m}", "window: {tumbling: \"${W}\"}")
        .replace("pipeline_type:", "sweep:\n  W: [1m, 5m]\npipeline_type:")
        .replace("CSV: out/binning_per_symbol.csv", outputs);
    write_config(dir, "windows.yaml", &text)
}

#[test]
fn a_sweeps_text_columns_reach_its_parquet_file_and_sqlite_table() {
    use parquet::record::RowAccessor;
    let dir = tempdir();
    let (csv, pq, db) = (
        dir.path().join("w.csv"),
        dir.path().join("w.parquet"),
        dir.path().join("w.sqlite"),
    );
    let outputs = format!(
        "[{{CSV: {}}}, {{Parquet: {{path: {}, row_group: 500}}}}, {{SQLite: {{path: {}, table: bins}}}}]",
        csv.display(),
        pq.display(),
        db.display()
    );
    let cfg = window_sweep(dir.path(), &outputs);
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let lines = read_csv(&csv);
    let head = "W,timestamp,bins.symbol,bins.window_start,bins.window_end,bins.vwap,bins.sum_quantity,bins.count";
    assert_eq!(lines[0].join(","), head);
    // Each combination's CSV rows are those of a single run with its window written in.
    for w in ["1m", "5m"] {
        let single = dir.path().join(format!("single_{w}.csv"));
        let text = std::fs::read_to_string("configs/binning_per_symbol.yaml")
            .unwrap()
            .replace("tumbling: 1m", &format!("tumbling: {w}"))
            .replace("out/binning_per_symbol.csv", single.to_str().unwrap());
        let one = write_config(dir.path(), &format!("single_{w}.yaml"), &text);
        let (code, _, err) = tubes(&["run", "-q", one.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let want: Vec<Vec<String>> = read_csv(&single)[1..].to_vec();
        let got: Vec<Vec<String>> = (lines[1..].iter())
            .filter(|l| l[0] == w)
            .map(|l| l[1..].to_vec())
            .collect();
        assert!(want.len() >= 6, "{} rows for {w}", want.len());
        assert_eq!(got, want, "W={w}");
    }
    // The Parquet file and the SQLite table hold the same rows, text as text.
    let rows = parquet_rows(&pq);
    assert_eq!(rows.len(), lines.len() - 1);
    for (row, line) in rows.iter().zip(&lines[1..]) {
        assert_eq!(row.get_string(0).unwrap(), &line[0]);
        assert_eq!(row.get_timestamp_millis(1).unwrap(), ms(&line[1]));
        for c in 2..5 {
            assert_eq!(row.get_string(c).unwrap(), &line[c], "{line:?}");
        }
        assert_eq!(row.get_double(5).unwrap(), line[5].parse::<f64>().unwrap());
        assert_eq!(row.get_double(6).unwrap(), line[6].parse::<f64>().unwrap());
        assert_eq!(row.get_long(7).unwrap(), line[7].parse::<i64>().unwrap());
    }
    let sql = r#"select W, timestamp, "bins.symbol", typeof("bins.symbol"), "bins.window_start", "bins.window_end", "bins.vwap", "bins.sum_quantity", "bins.count" from bins order by rowid"#;
    let table = sqlite3(&db, sql);
    assert_eq!(table.len(), lines.len() - 1);
    for (row, line) in table.iter().zip(&lines[1..]) {
        let c: Vec<&str> = row.split(',').collect();
        assert_eq!(c[..3], [&line[0], &line[1], &line[2]], "{row}");
        assert_eq!((c[3], c[4], c[5]), ("text", &*line[3], &*line[4]), "{row}");
        for (got, want) in c[6..].iter().zip(&line[5..]) {
            assert_eq!(
                got.parse::<f64>().unwrap(),
                want.parse::<f64>().unwrap(),
                "{row}"
            );
        }
    }
}

/// The shipped sweep over N = 500, 2000 and ETH, XTZ, writing CSV and `sqlite` (an output's mapping
/// body), as a config in `dir`.
fn small_sweep(dir: &Path, csv: &Path, sqlite: &str) -> PathBuf {
    let text = sweep_csv_only("sweep_btc_altcoins")
        .replace("{from: 50, to: 5000, step: 50}", "[500, 2000]")
        .replace("[ETH, BNB, LTC, XMR, XRP, XTZ]", "[ETH, XTZ]")
        .replace(
            "{CSV: out/sweep_btc_altcoins.csv}",
            &format!("[{{CSV: {}}}, {{SQLite: {{{sqlite}}}}}]", csv.display()),
        );
    write_config(dir, "sweep.yaml", &text)
}

/// Asserts that table `table` of `db` holds the rows of the sweep's CSV output `csv`, in order, typed.
fn assert_sweep_table(db: &Path, table: &str, csv: &Path) {
    let lines = read_csv(csv);
    assert_eq!(lines[0][..3], ["N", "coin", "timestamp"]);
    let rows = sqlite3(
        db,
        &format!(
            r#"select "N", typeof("N"), coin, timestamp, "btc_vol_sum.sum_Volume", "alt_counter.count", typeof("alt_counter.count"), "alt_counter.sum_Volume" from {table} order by rowid"#
        ),
    );
    assert_eq!(rows.len(), lines.len() - 1);
    assert!(rows.len() > 1400, "{} rows", rows.len());
    for (row, line) in rows.iter().zip(&lines[1..]) {
        let c: Vec<&str> = row.split(',').collect();
        assert_eq!((c[0], c[1]), (line[0].as_str(), "integer"), "{row}");
        assert_eq!((c[2], c[3]), (line[1].as_str(), line[2].as_str()), "{row}");
        assert_eq!(
            c[4].parse::<f64>().unwrap(),
            line[3].parse::<f64>().unwrap(),
            "{row}"
        );
        assert_eq!((c[5], c[6]), (line[4].as_str(), "integer"), "{row}");
        assert_eq!(
            c[7].parse::<f64>().unwrap(),
            line[5].parse::<f64>().unwrap(),
            "{row}"
        );
    }
}

#[test]
fn a_sweep_writes_one_sqlite_table_and_shards_can_append_to_one() {
    let dir = tempdir();
    let (db, csv) = (dir.path().join("s.sqlite"), dir.path().join("sweep.csv"));
    // The CSV output of the same run is checked against a plain loop in tests/sweep.rs; the table
    // holds the same rows, typed, and a second run replaces them.
    let cfg = small_sweep(
        dir.path(),
        &csv,
        &format!("path: {}, table: sweep", db.display()),
    );
    for _ in 0..2 {
        let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert_sweep_table(&db, "sweep", &csv);
    }
    assert_eq!(tables(&db), ["sweep"]);
    // Two shards appending to one table make the whole sweep's rows, in order.
    let part = dir.path().join("part.csv");
    let cfg = small_sweep(
        dir.path(),
        &part,
        &format!("path: {}, table: shards, mode: append", db.display()),
    );
    for shard in ["1/2", "2/2"] {
        let (code, _, err) = tubes(&["run", "-q", "--shard", shard, cfg.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
    }
    assert_sweep_table(&db, "shards", &csv);
}

#[test]
fn a_failed_run_keeps_the_previous_parquet_file_and_leaves_a_readable_partial_one() {
    let dir = tempdir();
    let out = dir.path().join("rows.parquet");
    let cfg = parquet_config(dir.path(), out.to_str().unwrap());
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "testdata/binance_BTCUSDT_1m.csv",
        bad_btc(dir.path()).to_str().unwrap(),
    );
    let bad = write_config(dir.path(), "bad.yaml", &text);
    let (code, _, err) = tubes(&["run", "-q", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the rows this run wrote are in"), "{err}");
    assert_eq!(parquet_rows(&out).len(), main_job_windows().len());
    let partial = parquet_rows(&dir.path().join("rows.parquet.partial"));
    assert!(
        partial.len() > 3000 && partial.len() < main_job_windows().len(),
        "{}",
        partial.len()
    );
}

#[test]
fn key_and_window_columns_are_text_in_sqlite_so_a_key_like_007_stays_007() {
    let dir = tempdir();
    let input = dir.path().join("keys.csv");
    std::fs::write(
        &input,
        "time,sym,qty\n1700000000000,ABC,1\n1700000001000,007,2\n1700000002000,1e3,4\n",
    )
    .unwrap();
    let db = dir.path().join("k.sqlite");
    // A single run into table t, and a sweep of the window's length into table s.
    for (sweep, window, table) in [("", "1m", "t"), ("sweep: {W: [1m, 2m]}\n", "\"${W}\"", "s")] {
        let text = format!(
            r#"{sweep}pipeline_type:
  Batch: ["2023-11-14T00:00:00Z", "2023-11-15T00:00:00Z"]
tubes:
- Generator: {{label: src, datasource: {{CSV: {}}}, to_label: bins}}
- Through: {{label: bins, to_label: sink, key: sym, reducer: [{{SUM: {{field: qty}}}}], window: {{tumbling: {window}}}}}
- Sink:
    label: sink
    datasink: {{SQLite: {{path: {}, table: {table}}}}}
    fields: {{bins: [sym, window_start, sum_qty]}}
"#,
            input.display(),
            db.display()
        );
        let path = write_config(dir.path(), "keys.yaml", &text);
        let (code, _, err) = tubes(&["run", "-q", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
    }
    let query = |table: &str| {
        let sql = format!(
            r#"SELECT typeof("bins.sym"), "bins.sym", typeof("bins.window_start"), "bins.sum_qty" FROM {table} ORDER BY rowid"#
        );
        sqlite3(&db, &sql)
    };
    let want = ["text,ABC,text,1", "text,007,text,2", "text,1e3,text,4"];
    assert_eq!(query("t"), want);
    assert_eq!(query("s"), [want, want].concat());
}

#[test]
fn a_sweep_whose_combinations_type_a_column_differently_is_refused_for_parquet_and_sqlite() {
    let dir = tempdir();
    // The same column is text in one file and numbers in the other.
    std::fs::write(
        dir.path().join("a.csv"),
        "time,sym,qty\n1700000000000,ABC,1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.csv"),
        "time,sym,qty\n1700000000000,123,1\n",
    )
    .unwrap();
    let config = |output: &str| {
        format!(
            r#"sweep:
  f: [a, b]
pipeline_type:
  Batch: ["2023-11-14T00:00:00Z", "2023-11-15T00:00:00Z"]
tubes:
- Generator: {{label: src, datasource: {{CSV: "{}/${{f}}.csv"}}, to_label: pass}}
- Through: {{label: pass, to_label: sink, reducer: NOP}}
- Sink:
    label: sink
    datasink: {output}
    fields: {{pass: [sym, qty]}}
"#,
            dir.path().display()
        )
    };
    let out = |name: &str| dir.path().join(name).display().to_string();
    for (output, target) in [
        (
            format!("{{Parquet: {}}}", out("o.parquet")),
            out("o.parquet"),
        ),
        (
            format!("{{SQLite: {{path: {}, table: o}}}}", out("o.sqlite")),
            format!("{} (table o)", out("o.sqlite")),
        ),
    ] {
        let text = config(&output);
        let line = text.lines().position(|l| l.contains("datasink:")).unwrap() + 1;
        let path = write_config(dir.path(), "typed.yaml", &text);
        let (code, _, err) = tubes(&["check", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        let want = format!("typed.yaml:{line}:5: tubes[2].Sink.datasink: {target} gets numbers in column 'pass.sym' here, but text from combination 1 (with f=b)");
        assert!(err.contains(&want), "{err}\nwant: {want}");
    }
    // A CSV file holds both.
    let csv = out("o.csv");
    let path = write_config(
        dir.path(),
        "typed.yaml",
        &config(&format!("{{CSV: {csv}}}")),
    );
    let (code, _, err) = tubes(&["run", "-q", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(rows, "f,timestamp,pass.sym,pass.qty\na,2023-11-14T22:13:20.000Z,ABC,1\nb,2023-11-14T22:13:20.000Z,123,1\n");
}

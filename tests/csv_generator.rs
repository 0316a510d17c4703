//! The CSV generator on real files: layouts, order, malformed rows.

mod common;
use common::*;

use std::path::Path;

/// The first `n` lines of a shipped file (header included).
fn head(file: &str, n: usize) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .take(n)
        .map(str::to_string)
        .collect()
}

/// A pipeline that counts every row of `csv` and writes each row's Close and Volume.
fn passthrough(csv: &Path, source_extra: &str, out: &Path) -> String {
    format!(
        r#"pipeline_type:
  Batch: ["2000-01-01T00:00:00Z", "2030-01-01T00:00:00Z"]
tubes:
- Generator:
    label: bars
    datasource: {{CSV: {{path: {csv}{source_extra}}}}}
    to_label: pass
- Through: {{label: pass, reducer: NOP, to_label: sink}}
- Sink:
    label: sink
    datasink: {{CSV: {out}}}
    fields: {{pass: [Close, Volume]}}
"#,
        csv = csv.display(),
        out = out.display()
    )
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_malformed_row_stops_the_run_naming_file_line_and_column() {
    let dir = tempdir();
    let mut lines = head("testdata/binance_BTCUSDT_1m.csv", 200);
    lines[49] = lines[49].rsplit_once(',').unwrap().0.to_string() + ",abc"; // line 50: Volume
    let csv = dir.path().join("bad.csv");
    write_lines(&csv, &lines);
    let err = run_text(
        dir.path(),
        &passthrough(&csv, "", &dir.path().join("o.csv")),
    )
    .unwrap_err();
    assert!(
        err.contains("bad.csv:50: column 'Volume': cannot read 'abc' as a number"),
        "{err}"
    );
    assert!(err.contains("on_error: skip"), "says how to go on: {err}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .arg("run")
        .arg(write_config(
            dir.path(),
            "p.yaml",
            &passthrough(&csv, "", &dir.path().join("o.csv")),
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a runtime failure exits 1");
}

#[test]
fn skip_counts_every_bad_row_exactly_and_keeps_the_rest() {
    let dir = tempdir();
    let mut lines = head("testdata/binance_BTCUSDT_1m.csv", 201); // header + 200 rows
    let good_before = lines.clone();
    lines[10] = lines[10].replace(",BTCUSDT,", ",BTCUSDT,x"); // Open unreadable
    lines[20] = lines[20].rsplit_once(',').unwrap().0.to_string(); // a column missing
    lines[30] = "not,a,row".to_string();
    lines[40] = lines[40].replacen("16", "zz", 1); // time unreadable
    let backwards = lines[100].clone();
    lines.insert(151, backwards); // an older row after newer ones
    let csv = dir.path().join("bad.csv");
    write_lines(&csv, &lines);
    let out = dir.path().join("o.csv");
    let report = run_text(dir.path(), &passthrough(&csv, ", on_error: skip", &out)).unwrap();
    assert_eq!(report.generators[0].skipped, 5);
    assert_eq!(report.generators[0].rows, 200 - 4);
    let rows = read_csv(&out);
    assert_eq!(rows.len() - 1, 196);
    // The kept rows are exactly the good ones, in order.
    let expected: Vec<(f64, f64)> = good_before[1..]
        .iter()
        .enumerate()
        .filter(|(i, _)| ![9, 19, 29, 39].contains(i))
        .map(|(_, l)| {
            let c: Vec<&str> = l.split(',').collect();
            (c[6].parse().unwrap(), c[7].parse().unwrap())
        })
        .collect();
    let got: Vec<(f64, f64)> = rows[1..]
        .iter()
        .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn newest_first_cryptodatadownload_files_with_a_banner_are_read_oldest_first() {
    let dir = tempdir();
    let lines = head("testdata/gemini_ETHUSD_2019_1min.csv", 3001);
    // The CryptoDataDownload original: a URL banner, the header, then rows newest first.
    let mut cdd = vec![
        "https://www.CryptoDataDownload.com".to_string(),
        lines[0].clone(),
    ];
    cdd.extend(lines[1..].iter().rev().cloned());
    let (asc, desc) = (dir.path().join("asc.csv"), dir.path().join("desc.csv"));
    write_lines(&asc, &lines);
    write_lines(&desc, &cdd);
    let (o1, o2) = (dir.path().join("o1.csv"), dir.path().join("o2.csv"));
    let r1 = run_text(dir.path(), &passthrough(&asc, "", &o1)).unwrap();
    let r2 = run_text(dir.path(), &passthrough(&desc, "", &o2)).unwrap();
    assert_eq!(r1.rows, 3000);
    assert_eq!(r2.rows, 3000);
    assert_eq!(std::fs::read(&o1).unwrap(), std::fs::read(&o2).unwrap());
    let rows = read_csv(&o2);
    assert_eq!(rows[1][0], "2019-05-06T16:01:00.000Z", "oldest first");
}

#[test]
fn a_malformed_row_in_a_newest_first_file_is_named_by_its_real_line() {
    let dir = tempdir();
    let lines = head("testdata/gemini_ETHUSD_2019_1min.csv", 101);
    let mut cdd = vec![
        "https://www.CryptoDataDownload.com".to_string(),
        lines[0].clone(),
    ];
    cdd.extend(lines[1..].iter().rev().cloned());
    cdd[59] = cdd[59].replace(",ETHUSD,", ",ETHUSD,?"); // line 60 of the file
    let csv = dir.path().join("desc.csv");
    write_lines(&csv, &cdd);
    let err = run_text(
        dir.path(),
        &passthrough(&csv, "", &dir.path().join("o.csv")),
    )
    .unwrap_err();
    assert!(err.contains("desc.csv:60: column 'Open'"), "{err}");
}

#[test]
fn plain_trade_csv_with_a_time_column_and_boolean_fields() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let text = format!(
        r#"pipeline_type:
  Batch: ["2021-01-08T00:00:00Z", "2021-01-09T00:00:00Z"]
tubes:
- Generator:
    label: trades
    datasource: {{CSV: testdata/binance_BTCUSDT_trades_2021-01-08_sample.csv}}
    to_label: bars
- Through:
    label: bars
    to_label: sink
    reducer: {{MULTI: [COUNT, {{SUM: {{field: is_buyer_maker}}}}, {{VWAP: {{price: price, quantity: qty}}}}, {{FIRST: {{field: id}}}}, {{LAST: {{field: id}}}}]}}
    event: {{Produce: {{GREATER_EQUAL: {{field: count, threshold: 500}}}}}}
- Sink:
    label: sink
    datasink: {{CSV: {}}}
    fields: {{bars: [count, sum_is_buyer_maker, vwap, first_id, last_id]}}
"#,
        out.display()
    );
    run_text(dir.path(), &text).unwrap();
    // Independent: read the trades and cut every 500.
    let trades: Vec<(f64, f64, bool, u64)> =
        std::fs::read_to_string("testdata/binance_BTCUSDT_trades_2021-01-08_sample.csv")
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                (
                    c[1].parse().unwrap(),
                    c[2].parse().unwrap(),
                    c[4] == "True",
                    c[0].parse().unwrap(),
                )
            })
            .collect();
    let rows = read_csv(&out);
    assert_eq!(rows.len() - 1, trades.len() / 500);
    for (k, row) in rows[1..].iter().enumerate() {
        let w = &trades[k * 500..(k + 1) * 500];
        let (pq, q) = w
            .iter()
            .fold((0.0, 0.0), |(a, b), t| (a + t.0 * t.1, b + t.1));
        assert_eq!(row[1], "500");
        assert_eq!(
            row[2].parse::<usize>().unwrap(),
            w.iter().filter(|t| t.2).count()
        );
        let vwap: f64 = row[3].parse().unwrap();
        assert!((vwap - pq / q).abs() < 1e-6, "vwap {vwap} vs {}", pq / q);
        assert_eq!(row[4].parse::<u64>().unwrap(), w[0].3);
        assert_eq!(row[5].parse::<u64>().unwrap(), w[499].3);
    }
}

#[test]
fn a_date_column_without_a_header_name_is_found() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let text = format!(
        r#"pipeline_type:
  Batch: ["2017-01-01T00:00:00Z", "2018-01-01T00:00:00Z"]
tubes:
- Generator: {{label: monthly, datasource: {{CSV: testdata/BTCUSD_monthly_2012-2024.csv}}, to_label: hi}}
- Through: {{label: hi, reducer: {{MAX: {{field: High}}}}, to_label: sink}}
- Sink: {{label: sink, datasink: {{CSV: {}}}, fields: {{hi: [max_High]}}}}
"#,
        out.display()
    );
    let r = run_text(dir.path(), &text).unwrap();
    assert_eq!(r.generators[0].rows, 12, "twelve months of 2017");
    let rows = read_csv(&out);
    assert_eq!(rows[1][0], "2017-01-31T00:00:00.000Z");
    // Running maximum over 2017's monthly highs, from the file itself.
    let highs: Vec<f64> = std::fs::read_to_string("testdata/BTCUSD_monthly_2012-2024.csv")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("2017-"))
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    let mut max = f64::MIN;
    for (row, h) in rows[1..].iter().zip(&highs) {
        max = max.max(*h);
        assert_eq!(row[1].parse::<f64>().unwrap(), max);
    }
}

#[test]
fn only_the_columns_the_graph_reads_are_parsed_and_checked() {
    let dir = tempdir();
    let mut lines = head("testdata/binance_BTCUSDT_1m.csv", 201);
    lines[50] = lines[50].replace(",BTCUSDT,", ",BTCUSDT,oops"); // line 51: Open, which the first graph never reads
    let csv = dir.path().join("c.csv");
    write_lines(&csv, &lines);
    let graph = |field: &str| {
        format!(
            r#"pipeline_type: {{Batch: ["2000-01-01T00:00:00Z", "2030-01-01T00:00:00Z"]}}
tubes:
- Generator: {{label: bars, datasource: {{CSV: {}}}, to_label: total}}
- Through: {{label: total, reducer: {{SUM: {{field: {field}}}}}, to_label: sink}}
- Sink: {{label: sink, datasink: {{CSV: {}}}, fields: {{total: [sum_{field}]}}}}
"#,
            csv.display(),
            dir.path().join("o.csv").display()
        )
    };
    let r = run_text(dir.path(), &graph("Volume")).unwrap();
    assert_eq!(r.generators[0].rows, 200, "the bad Open cell is never read");
    let expected: f64 = read_bars(csv.to_str().unwrap()).iter().map(|b| b.1).sum();
    let rows = read_csv(&dir.path().join("o.csv"));
    assert_eq!(rows.last().unwrap()[1].parse::<f64>().unwrap(), expected);
    let err = run_text(dir.path(), &graph("Open")).unwrap_err();
    assert!(err.contains("c.csv:51: column 'Open'"), "{err}");
}

#[test]
fn a_time_far_past_the_range_in_the_middle_is_a_row_out_of_order_not_the_end() {
    let dir = tempdir();
    let lines = head("testdata/binance_BTCUSDT_1m.csv", 201); // header + 200 rows
    let mut bad = lines.clone();
    // Line 101 jumps to 2040, after the range's end (2030); line 102 and the rest are back in order.
    let (_, rest) = bad[100].split_once(',').unwrap();
    bad[100] = format!("2208988800000,{rest}");
    let csv = dir.path().join("future.csv");
    write_lines(&csv, &bad);
    let out = dir.path().join("o.csv");
    let err = run_text(dir.path(), &passthrough(&csv, "", &out)).unwrap_err();
    assert!(
        err.contains("future.csv:101: this row's time is later than the rows around it (line 102"),
        "{err}"
    );
    // Another file: the failed run's output stays locked while a process that another test of this
    // binary starts at that moment holds a copy of its descriptor, until the process's program runs.
    let out = dir.path().join("skipped.csv");
    let report = run_text(dir.path(), &passthrough(&csv, ", on_error: skip", &out)).unwrap();
    let g = &report.generators[0];
    assert_eq!(
        (g.rows, g.skipped, g.outside),
        (199, 1, 0),
        "not 100 rows 'outside the range'"
    );
    let kept: Vec<String> = read_csv(&out)[1..].iter().map(|r| r[2].clone()).collect();
    let expected: Vec<String> = lines[1..]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 99)
        .map(|(_, l)| l.rsplit(',').next().unwrap().to_string())
        .collect();
    assert_eq!(kept, expected, "every other row is kept, in order");
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_column_and_a_huge_bad_cell_is_not_echoed_whole() {
    let dir = tempdir();
    let mut lines = head("testdata/binance_BTCUSDT_1m.csv", 101);
    lines[0] = format!("\u{feff}{}", lines[0]);
    let csv = dir.path().join("bom.csv");
    write_lines(&csv, &lines);
    let out = dir.path().join("o.csv");
    let report = run_text(
        dir.path(),
        &passthrough(&csv, ", time_column: Unix Timestamp", &out),
    )
    .unwrap_or_else(|e| panic!("the BOM is skipped: {e}"));
    assert_eq!(report.generators[0].rows, 100);
    // A 1 MB cell where a number should be: the error quotes 80 characters and says how long it is.
    let (_, tail) = lines[50].rsplit_once(',').unwrap();
    lines[50] = lines[50].replacen(tail, &"9x".repeat(500_000), 1);
    write_lines(&csv, &lines);
    let err = run_text(dir.path(), &passthrough(&csv, "", &out)).unwrap_err();
    assert!(
        err.contains(&format!("'{}…' (1000000 bytes)", "9x".repeat(40))),
        "{}",
        &err[..300.min(err.len())]
    );
    assert!(err.len() < 1000, "{} bytes of error", err.len());
}

#[test]
fn a_column_whose_first_cell_is_empty_stays_numeric() {
    // Only a cell that holds something other than a number makes a column text (a key); an empty
    // first cell says nothing, so `price` can still be summed.
    let dir = tempdir();
    let input = dir.path().join("gaps.csv");
    std::fs::write(
        &input,
        "time,price,sym\n1700000000000,,A\n1700000001000,5,A\n1700000002000,6,B\n",
    )
    .unwrap();
    let out = dir.path().join("out.csv");
    let text = format!(
        r#"pipeline_type:
  Batch: ["2023-11-14T00:00:00Z", "2023-11-15T00:00:00Z"]
tubes:
- Generator: {{label: src, datasource: {{CSV: {{path: {}, on_error: skip}}}}, to_label: s}}
- Through: {{label: s, to_label: sink, key: sym, reducer: [{{SUM: {{field: price}}}}]}}
- Sink: {{label: sink, datasink: {{CSV: {}}}, fields: {{s: [sym, sum_price]}}}}
"#,
        input.display(),
        out.display()
    );
    let report = run_text(dir.path(), &text).unwrap();
    assert_eq!(
        report.generators[0].skipped, 1,
        "the empty price is a malformed row"
    );
    let rows = read_csv(&out);
    let last: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(last, ["5", "6"]);
}

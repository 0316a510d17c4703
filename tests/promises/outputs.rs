//! Promise 2: outputs are replaced only by a run that starts, and only at its clean end. Rows go to
//! `NAME.partial` and are renamed to `NAME` when the run ends cleanly (completed or stopped by a
//! signal); a run that fails or is killed leaves the previous `NAME` whole.

use std::process::Command;

use super::common::*;
use super::main_job_in;

/// Whether `part` is `whole` cut after one of its lines (and starts with its header).
fn is_line_prefix(part: &str, whole: &str) -> bool {
    whole.starts_with(part) && (part.is_empty() || part.ends_with('\n'))
}

#[test]
fn a_run_that_fails_half_way_leaves_the_previous_output_whole() {
    let dir = tempdir();
    let (cfg, btc, _, out) = main_job_in(dir.path());
    let cfg = cfg.to_str().unwrap();
    let (code, _, err) = tubes(&["run", "-q", cfg]);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read_to_string(&out).unwrap();
    assert_eq!(before.lines().count() - 1, main_job_windows().len());
    // A row half-way through the BTC file whose Volume (a column the job reads) is not a number.
    let text = std::fs::read_to_string(&btc).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let k = lines.len() / 2;
    let cut = lines[k].rfind(',').unwrap();
    lines[k].replace_range(cut + 1.., "abc");
    std::fs::write(&btc, lines.join("\n") + "\n").unwrap();
    let (code, _, err) = tubes(&["run", "-q", cfg]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("btc.csv:{}: column 'Volume'", k + 1)),
        "{err}"
    );
    let partial = out.with_file_name("out.csv.partial");
    assert!(
        err.contains(&format!(
            "the rows this run wrote are in {}",
            partial.display()
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        before,
        "the previous output is whole"
    );
    let part = std::fs::read_to_string(&partial).unwrap();
    assert!(part.starts_with("timestamp,"), "{part:.200}");
    assert!(
        is_line_prefix(&part, &before),
        "the partial file holds whole rows, the same as a whole run's first ones"
    );
}

#[test]
fn a_run_that_cannot_open_an_output_touches_no_output() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    std::fs::write(&out, "the previous run's rows\n").unwrap();
    // The second output's directory is a file: opening it fails after the first output was opened.
    let blocker = dir.path().join("not_a_dir");
    std::fs::write(&blocker, "").unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("{{CSV: {}}}", out.display()),
        &format!(
            "[{{CSV: {}}}, {{NDJSON: {}/rows.json}}]",
            out.display(),
            blocker.display()
        ),
    );
    let cfg = write_config(dir.path(), "two.yaml", &text);
    // Checked while the directory could still be made; a file takes its name before the run.
    std::fs::remove_file(&blocker).unwrap();
    let g = tubes::api::load(&cfg).unwrap();
    std::fs::write(&blocker, "").unwrap();
    let err = within(60, move || tubes::api::run(&g, |_| {}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not_a_dir/rows.json"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "the previous run's rows\n"
    );
    assert!(
        !out.with_file_name("out.csv.partial").exists(),
        "a run that never started leaves nothing behind"
    );
}

#[test]
fn a_clean_end_replaces_the_output_and_leaves_no_partial_file() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    std::fs::write(&out, "the previous run's rows\n").unwrap();
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    super::assert_rows(&out, &main_job_windows());
    assert!(!out.with_file_name("out.csv.partial").exists());
}

/// A Stream run writing a row for nearly every synthetic trade, so rows reach the file within
/// milliseconds, and printing a latency table every 100 ms (the signal that it is writing).
fn busy_stream_run(dir: &std::path::Path, out: &std::path::Path) -> Watched {
    let text = std::fs::read_to_string("configs/bench_btc_eth.yaml")
        .unwrap()
        .replace("rate: 5000", "rate: 200000")
        .replace("threshold: 10}", "threshold: 0.001}")
        .replace(
            "datasink: Discard",
            &format!("datasink: {{CSV: {}}}", out.display()),
        );
    let cfg = write_config(dir, "busy.yaml", &text);
    Watched::spawn(
        Command::new(env!("CARGO_BIN_EXE_tubes"))
            .arg("run")
            .arg(&cfg)
            .args(["--metrics-interval", "100ms"]),
    )
}

#[test]
fn a_killed_run_leaves_the_previous_output_whole_and_its_rows_in_the_partial_file() {
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    std::fs::write(&out, "the previous run's rows\n").unwrap();
    let mut run = busy_stream_run(dir.path(), &out);
    run.wait_for_line("latency ", 30);
    run.signal("KILL");
    let (code, _) = run.finish(30);
    assert_eq!(code, None, "killed by a signal");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "the previous run's rows\n"
    );
    let part = std::fs::read(dir.path().join("rows.csv.partial")).unwrap();
    assert!(
        part.len() > 1 << 16,
        "rows written before the kill are in the partial file ({} bytes)",
        part.len()
    );
    assert!(part.starts_with(b"timestamp,btc_vol_sum.sum_quantity"));
}

#[test]
fn a_signalled_run_ends_cleanly_and_replaces_its_output() {
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    std::fs::write(&out, "the previous run's rows\n").unwrap();
    let mut run = busy_stream_run(dir.path(), &out);
    run.wait_for_line("latency ", 30);
    run.signal("INT");
    let (code, err) = run.finish(30);
    assert_eq!(code, Some(0), "{err}");
    let rows = read_csv(&out);
    assert_eq!(rows[0][0], "timestamp");
    assert!(rows.len() > 100, "{} rows", rows.len());
    assert!(!dir.path().join("rows.csv.partial").exists());
}

#[test]
fn a_fifo_output_is_refused_at_once_and_a_device_is_written_in_place() {
    let dir = tempdir();
    let fifo = dir.path().join("rows.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (cfg, _, _, out) = main_job_in(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap();
    let to_fifo = write_config(
        dir.path(),
        "fifo.yaml",
        &text.replace(&out.display().to_string(), &fifo.display().to_string()),
    );
    // Nobody reads the FIFO: a run that opened it would wait forever.
    let run = Watched::spawn(Command::new(env!("CARGO_BIN_EXE_tubes")).args([
        "run",
        "-q",
        to_fifo.to_str().unwrap(),
    ]));
    let (code, err) = run.finish(30);
    assert_eq!(code, Some(2), "{err}");
    let line = super::line_of(&std::fs::read_to_string(&to_fifo).unwrap(), "rows.fifo");
    assert!(
        err.contains(&format!("fifo.yaml:{line}:")) && err.contains("rows.fifo': it is a FIFO"),
        "{err}"
    );
    // A device is written in place, never replaced by a renamed file.
    let to_null = write_config(
        dir.path(),
        "null.yaml",
        &text.replace(&out.display().to_string(), "/dev/null"),
    );
    let (code, _, err) = tubes(&["run", "-q", to_null.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    use std::os::unix::fs::FileTypeExt;
    let null = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(null.is_char_device(), "/dev/null is still the device");
    assert!(!std::path::Path::new("/dev/null.partial").exists());
}

#[test]
fn a_slow_run_killed_keeps_the_rows_it_had_written() {
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    // About 80 rows a second: far less than a 64 KiB buffer would hold in a minute.
    let text = std::fs::read_to_string("configs/bench_btc_eth.yaml")
        .unwrap()
        .replace(
            "datasink: Discard",
            &format!("datasink: {{CSV: {}}}", out.display()),
        );
    let cfg = write_config(dir.path(), "slow.yaml", &text);
    let mut run = Watched::spawn(
        Command::new(env!("CARGO_BIN_EXE_tubes"))
            .arg("run")
            .arg(&cfg)
            .args(["--metrics-interval", "100ms"]),
    );
    // A row reached the sink in one interval; by the end of the next, the idle pipeline flushed it.
    run.wait_for_line("sink sink (end-to-end)", 30);
    run.wait_for_line("latency ", 30);
    run.signal("KILL");
    let (code, _) = run.finish(30);
    assert_eq!(code, None);
    let part = std::fs::read_to_string(dir.path().join("rows.csv.partial")).unwrap();
    let lines: Vec<&str> = part.lines().collect();
    assert!(
        lines.len() >= 2,
        "the header and the rows written: {part:?}"
    );
    assert!(
        part.ends_with('\n') && lines.iter().all(|l| l.split(',').count() == 4),
        "{part}"
    );
}

#[test]
fn a_second_run_writing_the_same_output_at_the_same_time_is_refused() {
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    let mut first = busy_stream_run(dir.path(), &out);
    first.wait_for_line("latency ", 30);
    let cfg = dir.path().join("busy.yaml");
    let second = Watched::spawn(Command::new(env!("CARGO_BIN_EXE_tubes")).args([
        "run",
        "-q",
        cfg.to_str().unwrap(),
        "--duration",
        "1s",
    ]));
    let (code, err) = second.finish(30);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("another run is writing it"), "{err}");
    first.signal("INT");
    let (code, err) = first.finish(30);
    assert_eq!(code, Some(0), "{err}");
    assert!(read_csv(&out).len() > 100, "the first run's rows are whole");
}

#[test]
fn a_fifo_where_a_partial_file_goes_is_refused_at_check() {
    let dir = tempdir();
    let (cfg, _, _, _) = main_job_in(dir.path());
    let fifo = dir.path().join("out.csv.partial");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let run = Watched::spawn(Command::new(env!("CARGO_BIN_EXE_tubes")).args([
        "run",
        "-q",
        cfg.to_str().unwrap(),
    ]));
    let (code, err) = run.finish(30);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("out.csv.partial' is in the way of its partial file"),
        "{err}"
    );
}

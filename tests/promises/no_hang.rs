//! Promise 3: no panic, no hang. A thread that panics (a plug-in's sink or source here) stops the run
//! with a message naming the thread and the cause, what is complete is flushed, and the run returns; a
//! closed stdout or stderr loses nothing else; FIFOs, devices and directories are refused as inputs
//! without waiting on them; deep nesting is refused before parsing.

use std::any::Any;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_yaml::Value;
use tubes::base::datapoint::{Datapoint, Kind};
use tubes::base::{Ctx, Outlet, RunError};
use tubes::config::{Diagnostics, Reader};
use tubes::graph::Graph;
use tubes::plugin::{
    CheckSource, Kinds, OpenSink, OpenSource, Row, RowWriter, SinkKind, SinkOutput, Source,
    SourceKind, SourceRun, WriteError,
};

use super::common::*;
use super::main_job_in;

/// A sink kind whose writer panics at the row given as its payload: `{Explode: 100}`.
struct Explode;

#[derive(Debug)]
struct ExplodeAt(u64);

struct Exploding {
    rows: u64,
    at: u64,
}

impl SinkKind for Explode {
    fn names(&self) -> &'static [&'static str] {
        &["Explode"]
    }
    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn SinkOutput>> {
        Some(Box::new(ExplodeAt(r.uint(v, path)?)))
    }
}

impl SinkOutput for ExplodeAt {
    fn target(&self) -> String {
        "explode".into()
    }
    fn open(&self, _: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        Ok(Some(Box::new(Exploding {
            rows: 0,
            at: self.0,
        })))
    }
}

impl RowWriter for Exploding {
    fn write_row(&mut self, _: &Row<'_>) -> Result<(), WriteError> {
        self.rows += 1;
        assert!(
            self.rows < self.at,
            "the plug-in sink broke at row {}",
            self.rows
        );
        Ok(())
    }
    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }
}

/// A source kind that sends the number of datapoints given as its payload (one a second from the
/// Batch range's start, each with `x = 1`), then panics: `{Faulty: 1000}`.
struct Faulty;

#[derive(Debug)]
struct FaultyAfter(u64);

struct FaultyRun {
    after: u64,
    id: u16,
    from: i64,
}

impl SourceKind for Faulty {
    fn name(&self) -> &'static str {
        "Faulty"
    }
    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn Source>> {
        Some(Box::new(FaultyAfter(r.uint(v, path)?)))
    }
}

impl Source for FaultyAfter {
    fn check(&mut self, _: &CheckSource<'_>, _: &mut Diagnostics) -> Option<Vec<String>> {
        Some(vec!["x".into()])
    }
    fn describe(&self) -> String {
        "Faulty".into()
    }
    fn open(&self, at: OpenSource) -> Result<Box<dyn SourceRun>, RunError> {
        let from = at.range.expect("a Batch test").0;
        Ok(Box::new(FaultyRun {
            after: self.0,
            id: at.id,
            from,
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SourceRun for FaultyRun {
    fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        for i in 0..self.after {
            let now = tubes::base::time::monotonic_ns();
            let t = self.from + i as i64 * 1_000_000_000;
            let mut dp = Datapoint::new(Kind::Data, self.id, t, now);
            dp.len = 1;
            dp.values[0] = 1.0;
            out.push(dp, now, ctx)?;
        }
        panic!("the plug-in source broke after {} datapoints", self.after);
    }
}

/// Checks `config` against the shipped kinds plus the two faulty plug-ins.
fn with_plugins(config: &Path) -> Graph {
    let sinks: Vec<&'static dyn SinkKind> = tubes::sinks::KINDS
        .iter()
        .copied()
        .chain([&Explode as &dyn SinkKind])
        .collect();
    let sources: Vec<&'static dyn SourceKind> = tubes::sources::KINDS
        .iter()
        .copied()
        .chain([&Faulty as &dyn SourceKind])
        .collect();
    let kinds = Kinds {
        sources: Vec::leak(sources),
        sinks: Vec::leak(sinks),
    };
    let (c, d) = tubes::api::load_config(config).unwrap();
    tubes::graph::check(c, d, &kinds).unwrap()
}

#[test]
fn a_panicking_sink_stops_the_run_naming_its_thread_and_the_rows_before_it_are_flushed() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("{{CSV: {}}}", out.display()),
        &format!("[{{CSV: {}}}, {{Explode: 100}}]", out.display()),
    );
    let g = with_plugins(&write_config(dir.path(), "explode.yaml", &text));
    let err = within(60, move || tubes::api::run(&g, |_| {}))
        .unwrap_err()
        .to_string();
    assert!(
        (err.contains("engine thread tubes-stage-")
            || err.contains("engine thread tubes-sequencer"))
            && err.contains("panicked: the plug-in sink broke at row 100"),
        "{err}"
    );
    assert!(!out.exists(), "a failed run replaces no output");
    let rows = read_csv(&out.with_file_name("out.csv.partial"));
    let windows = main_job_windows();
    assert_eq!(rows.len() - 1, 100, "the 100 rows the CSV output took");
    for (row, w) in rows[1..].iter().zip(&windows) {
        assert_eq!(row[1].parse::<f64>().unwrap(), w.1);
    }
}

#[test]
fn a_panicking_source_stops_the_run_naming_its_thread() {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let text = format!(
        r#"pipeline_type:
  Batch: ["2023-03-17T00:00:00Z", "2023-05-01T00:00:00Z"]
tubes:
- Generator: {{label: faulty, datasource: {{Faulty: 1000}}, to_label: sum}}
- Through:
    label: sum
    to_label: sink
    reducer: {{SUM: {{field: x}}}}
    event: {{Produce: {{GREATER: {{field: sum_x, threshold: 9.5}}}}}}
- Sink: {{label: sink, datasink: {{CSV: {}}}, fields: {{sum: [sum_x]}}}}
"#,
        out.display()
    );
    let g = with_plugins(&write_config(dir.path(), "faulty.yaml", &text));
    let err = within(60, move || tubes::api::run(&g, |_| {}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("engine thread tubes-gen-faulty panicked: the plug-in source broke after 1000 datapoints"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn closed_stdout_and_stderr_lose_no_other_output() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    // The shipped sinks: rows to stdout and to the CSV file.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("{{CSV: {}}}", out.display()),
        &format!("[Stdout, {{CSV: {}}}]", out.display()),
    );
    let cfg = write_config(dir.path(), "both.yaml", &text);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tubes"))
        .arg("run")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both readers go away before the run has written anything (`tubes run … 2>&1 | head -0`).
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = within(60, move || child.wait().unwrap());
    assert_eq!(status.code(), Some(0));
    super::assert_rows(&out, &main_job_windows());
}

#[test]
fn fifos_devices_and_directories_are_refused_as_inputs_without_waiting() {
    let dir = tempdir();
    let (cfg, btc, _, _) = main_job_in(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap();
    let fifo = dir.path().join("btc.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let inputs = [
        (fifo.display().to_string(), "a FIFO"),
        ("/dev/zero".to_string(), "a device"),
        (dir.path().display().to_string(), "a directory"),
    ];
    for (input, what) in inputs {
        let bad = text.replace(&btc.display().to_string(), &input);
        let cfg = write_config(dir.path(), "special.yaml", &bad);
        let line = super::line_of(&bad, &format!("CSV: {input}"));
        for command in ["check", "run"] {
            let run = Watched::spawn(
                Command::new(env!("CARGO_BIN_EXE_tubes")).args([command, cfg.to_str().unwrap()]),
            );
            let (code, err) = run.finish(30);
            assert_eq!(code, Some(2), "{input}: {err}");
            assert!(
                err.contains(&format!("special.yaml:{line}:"))
                    && err.contains(&format!("it is {what}, not a regular file")),
                "{input}: {err}"
            );
        }
    }
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let text = format!("a: {}{}\n", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let err = within(30, move || {
        tubes::api::load_str(&text, Path::new("deep.yaml"))
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("deep.yaml:1:68: the config nests deeper than 64 levels here"),
        "{err}"
    );
}

#[test]
fn an_endless_config_is_read_with_a_bound() {
    let run =
        Watched::spawn(Command::new(env!("CARGO_BIN_EXE_tubes")).args(["check", "/dev/zero"]));
    let (code, err) = run.finish(30);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("error: /dev/zero: the config is longer than 16 MiB"),
        "{err}"
    );
}

#[test]
fn a_config_from_a_named_pipe_is_read_when_written_and_refused_when_nobody_writes() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    let fifo = dir.path().join("config.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Nobody writes: the wait for a writer is bounded.
    let run = Watched::spawn(
        Command::new(env!("CARGO_BIN_EXE_tubes")).args(["check", fifo.to_str().unwrap()]),
    );
    let (code, err) = run.finish(30);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "config.fifo: the config is a named pipe (FIFO) that nothing was written to in 5 s"
        ) && err.contains("start the program that writes the pipe before tubes"),
        "{err}"
    );
    // A writer that holds the pipe open and writes nothing: the same bounded wait.
    let (done, held) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            let f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            let _ = held.recv();
            drop(f);
        }
    });
    let run = Watched::spawn(
        Command::new(env!("CARGO_BIN_EXE_tubes")).args(["check", fifo.to_str().unwrap()]),
    );
    let (code, err) = run.finish(30);
    done.send(()).unwrap();
    // A holder that had not opened its end before tubes closed its own would wait for a reader.
    let _reader = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap()
    };
    holder.join().unwrap();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nothing was written to in 5 s"), "{err}");
    // A writer, whichever of the two opens the pipe first: the run reads the config and does the job.
    let writer = std::thread::spawn({
        let (fifo, text) = (fifo.clone(), std::fs::read(&cfg).unwrap());
        move || std::fs::write(fifo, text).unwrap()
    });
    let journal = dir.path().join("journal");
    let run = Watched::spawn(Command::new(env!("CARGO_BIN_EXE_tubes")).args([
        "run",
        "-q",
        fifo.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
    ]));
    let (code, err) = run.finish(60);
    // Asserted before the join: a run that failed before opening the pipe leaves the writer waiting.
    assert_eq!(code, Some(0), "{err}");
    writer.join().unwrap();
    super::assert_rows(&out, &main_job_windows());
    // The journal records the text the run read from the pipe (the pipe is read once).
    let meta = tubes::journal::Meta::load(&journal).unwrap();
    assert_eq!(meta.config, std::fs::read_to_string(&cfg).unwrap());
}

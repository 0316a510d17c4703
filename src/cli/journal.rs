//! `tubes replay` and `tubes journal info|dump|tail`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{stop_on_signals, ArgError, EXIT_CONFIG, EXIT_RUNTIME};
use crate::api::ReplayError;
use crate::base::datapoint::{Datapoint, Kind};
use crate::base::status;
use crate::base::time::rfc3339;
use crate::graph::Graph;
use crate::journal::{Meta, Next, Reader, Tailer};

fn fail(e: impl std::fmt::Display) -> i32 {
    errln!("error: {e}");
    EXIT_RUNTIME
}

/// The graph a journal was recorded with, from the config text it holds.
fn recorded_graph(meta: &Meta) -> Result<Graph, crate::config::ConfigErrors> {
    crate::api::load_str(&meta.config, Path::new(&meta.config_file))
}

/// Why `tubes journal dump` stopped.
#[derive(Debug, thiserror::Error)]
enum DumpError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
}

/// Parses `max`, `1x`, `10`, `0.5x`.
pub fn parse_speed(s: &str) -> Result<Option<f64>, ArgError> {
    if s == "max" {
        return Ok(None);
    }
    match s.trim_end_matches('x').parse::<f64>() {
        Ok(x) if (0.001..=1e6).contains(&x) => Ok(Some(x)),
        _ => Err(ArgError(format!(
            "'{s}' is not a speed: write max, or a factor from 0.001x to 1000000x such as 1x or 10x"
        ))),
    }
}

/// `tubes replay DIR [--config FILE] [--speed S]`.
pub fn replay(
    dir: &Path,
    config: Option<&Path>,
    speed: Option<f64>,
    skip_damaged: bool,
    quiet: bool,
) -> i32 {
    let reader = match Reader::open(dir) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let g = match config {
        Some(p) => crate::api::load(p),
        None => recorded_graph(reader.meta()),
    };
    let g = match g {
        Ok(g) => g,
        Err(e) => {
            errln!("{e}");
            return EXIT_CONFIG;
        }
    };
    let (mut engine, stats) = match crate::api::replay(reader, &g, speed, skip_damaged) {
        Ok(r) => r,
        Err(ReplayError::Config(e)) => {
            errln!("error: {e}");
            return EXIT_CONFIG;
        }
        Err(ReplayError::Run(e)) => return fail(e),
    };
    engine.set_stop(stop_on_signals());
    let report = engine.start().and_then(|r| r.finish(|_| {}));
    let report = match report {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if !quiet {
        errln!("{}", crate::runtime::summary(&report));
        errln!(
            "  replay: {} records from {}; {} skipped (no such tube in the config){}",
            stats.records.load(Ordering::Relaxed),
            dir.display(),
            stats.skipped.load(Ordering::Relaxed),
            if stats.torn.load(Ordering::Relaxed) > 0 {
                "; the journal ends in a torn record, which was not replayed"
            } else {
                ""
            }
        );
        let damaged = stats.damaged.load(Ordering::Relaxed);
        if damaged > 0 {
            errln!("  replay: {damaged} records in damaged stretches skipped (--skip-damaged)");
        }
    }
    0
}

/// `tubes journal info DIR`: exit 1 when the journal is damaged (not merely torn at its tail).
pub fn info(dir: &Path) -> i32 {
    let mut r = match Reader::open(dir) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let survey = match r.survey() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let meta = r.meta().clone();
    let mut per: BTreeMap<u16, u64> = BTreeMap::new();
    let (mut first, mut last) = (None, None);
    let mut skip = survey.damage.iter().peekable();
    loop {
        if let Some(d) = skip.next_if(|d| d.from == r.position()) {
            r.seek(d.to);
        }
        match r.next_record() {
            Ok(Next::Record(dp)) => {
                *per.entry(dp.source).or_default() += 1;
                first.get_or_insert(dp.event_time);
                last = Some(dp.event_time);
            }
            Ok(Next::End | Next::Torn) => break,
            Err(e) => return fail(e),
        }
    }
    outln!(
        "journal {} ({}, format version {})",
        dir.display(),
        meta.content,
        meta.version
    );
    outln!(
        "  {} records in {} segments of {} records",
        survey.records,
        survey.segments,
        meta.segment_records
    );
    if let (Some(a), Some(b)) = (first, last) {
        outln!("  event time {} → {}", rfc3339(a), rfc3339(b));
    }
    outln!("  config {} (hash {})", meta.config_file, meta.config_hash);
    for (id, count) in &per {
        let t = meta.tubes.get(*id as usize);
        outln!(
            "  {:<20} {:>10} records  fields: {}",
            t.map_or("?", |t| t.label.as_str()),
            count,
            t.map_or(String::new(), |t| t.fields.join(", "))
        );
    }
    outln!(
        "  torn records: {}",
        match survey.torn_tail {
            Some(at) => format!("yes, at record {at} (a torn tail; records before it are whole)"),
            None => "none".into(),
        }
    );
    if survey.damage.is_empty() {
        outln!("  damage: none");
        return 0;
    }
    for d in &survey.damage {
        outln!("  damage: {d}");
    }
    errln!(
        "error: journal {} is damaged ({} damaged stretch{}); `tubes replay` refuses it, `tubes replay --skip-damaged` replays around the damage",
        dir.display(),
        survey.damage.len(),
        if survey.damage.len() == 1 { "" } else { "es" }
    );
    EXIT_RUNTIME
}

/// How `dump` and `tail` print records.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    /// One CSV row per record: index, time, kind, tube, status, then a column per field name.
    Csv,
    /// One JSON object per record, with the tube's field names.
    Ndjson,
}

struct Printer {
    meta: Meta,
    format: Format,
    columns: Vec<String>,
    feeds: Vec<String>,
}

impl Printer {
    fn new(meta: Meta, format: Format) -> Printer {
        let mut columns: Vec<String> = Vec::new();
        for t in meta.tubes.iter().filter(|t| t.kind == "Generator") {
            for f in &t.fields {
                if !columns.contains(f) {
                    columns.push(f.clone());
                }
            }
        }
        let feeds = meta.tubes.iter().map(|t| t.label.clone()).collect();
        Printer {
            meta,
            format,
            columns,
            feeds,
        }
    }

    fn header(&self, out: &mut impl Write) -> std::io::Result<()> {
        if self.format == Format::Csv {
            writeln!(
                out,
                "index,time,kind,tube,status,{}",
                self.columns.join(",")
            )?;
        }
        Ok(())
    }

    fn print(&self, out: &mut impl Write, index: u64, dp: &Datapoint) -> std::io::Result<()> {
        let tube = self
            .meta
            .tubes
            .get(dp.source as usize)
            .map_or("?", |t| t.label.as_str());
        let kind = match dp.kind {
            Kind::Data => "data",
            Kind::Event => "event",
            Kind::Tick => "tick",
            Kind::Status => "status",
        };
        let status = if dp.kind == Kind::Status {
            status::Text {
                dp,
                feeds: &self.feeds,
            }
            .to_string()
        } else {
            String::new()
        };
        let fields = if dp.kind == Kind::Status {
            &[][..]
        } else {
            self.meta.fields(dp.source as usize)
        };
        let time = rfc3339(dp.event_time);
        match self.format {
            Format::Csv => {
                write!(out, "{index},{time},{kind},{tube},{status}")?;
                for c in &self.columns {
                    match fields.iter().position(|f| f == c) {
                        Some(i) if i < dp.len as usize && !dp.values[i].is_nan() => {
                            write!(out, ",{}", dp.values[i])?
                        }
                        _ => write!(out, ",")?,
                    }
                }
                writeln!(out)
            }
            Format::Ndjson => {
                let mut obj = serde_json::Map::new();
                obj.insert("index".into(), index.into());
                obj.insert("time".into(), time.into());
                obj.insert("kind".into(), kind.into());
                obj.insert("tube".into(), tube.into());
                if dp.kind == Kind::Status {
                    obj.insert("status".into(), status.into());
                }
                let mut f = serde_json::Map::new();
                for (i, name) in fields.iter().enumerate().take(dp.len as usize) {
                    f.insert(
                        name.clone(),
                        serde_json::Number::from_f64(dp.values[i])
                            .map_or(serde_json::Value::Null, Into::into),
                    );
                }
                obj.insert("fields".into(), f.into());
                writeln!(out, "{}", serde_json::Value::Object(obj))
            }
        }
    }
}

/// `tubes journal dump DIR [--from T] [--to T] [--format csv|ndjson]`.
pub fn dump(dir: &Path, from: Option<i64>, to: Option<i64>, format: Format) -> i32 {
    let mut r = match Reader::open(dir) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let p = Printer::new(r.meta().clone(), format);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Whether the dump read to where the records stop (the end, a torn tail or damage), rather than to
    // a reader that went away.
    let mut run = || -> Result<bool, DumpError> {
        p.header(&mut out)?;
        loop {
            let index = r.position();
            match r.next_record()? {
                Next::Record(dp) => {
                    if from.is_some_and(|f| dp.event_time < f)
                        || to.is_some_and(|t| dp.event_time >= t)
                    {
                        continue;
                    }
                    if let Err(e) = p.print(&mut out, index, &dp) {
                        return if e.kind() == std::io::ErrorKind::BrokenPipe {
                            Ok(false)
                        } else {
                            Err(e.into())
                        };
                    }
                }
                Next::End | Next::Torn => return Ok(true),
            }
        }
    };
    let result = run();
    let _ = out.flush();
    match result.and_then(|to_the_end| Ok(to_the_end.then(|| r.survey()).transpose()?)) {
        Ok(Some(survey)) => match survey.damage.first() {
            Some(first) => fail(crate::journal::JournalError::Damaged {
                path: dir.to_path_buf(),
                first: first.clone(),
                stretches: survey.damage.len(),
            }),
            None => {
                if let Some(at) = survey.torn_tail {
                    errln!("note: the journal ends in a torn record (at {at}); records before it were printed");
                }
                0
            }
        },
        Ok(None) => 0,
        Err(e) => fail(e),
    }
}

/// Opens a tailer on the journal in `dir`, waiting (until `stop`) for it to appear: a tailer may start
/// before the run that writes the journal. `None` when stopped first.
fn open_when_there(
    dir: &Path,
    from: u64,
    stop: &std::sync::atomic::AtomicBool,
) -> Option<Result<Tailer, crate::journal::JournalError>> {
    let mut said = false;
    loop {
        match Tailer::open(dir, from) {
            Err(crate::journal::JournalError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                if !said {
                    errln!(
                        "waiting for a journal in {} (Ctrl-C to stop)",
                        dir.display()
                    );
                    said = true;
                }
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return Some(other),
        }
    }
}

/// `tubes journal tail DIR [--from INDEX] [--format csv|ndjson]`: follows until Ctrl-C.
pub fn tail(dir: &Path, from: u64, format: Format) -> i32 {
    let stop = stop_on_signals();
    let Some(opened) = open_when_there(dir, from, &stop) else {
        return 0;
    };
    let mut t = match opened {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let p = Printer::new(t.meta().clone(), format);
    let mut out = std::io::stdout();
    let _ = p.header(&mut out);
    while !stop.load(Ordering::Relaxed) {
        let index = t.position();
        match t.next(Duration::from_millis(100)) {
            Ok(Some(dp)) => {
                match p.print(&mut out, index, &dp).and_then(|()| out.flush()) {
                    Ok(()) => {}
                    // The reader went away (`| head`): done.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return 0,
                    Err(e) => return fail(format!("cannot write to stdout: {e}")),
                }
            }
            Ok(None) => {}
            Err(e) => return fail(e),
        }
    }
    errln!(
        "stopped at record {} (resume with --from {})",
        t.position(),
        t.position()
    );
    0
}

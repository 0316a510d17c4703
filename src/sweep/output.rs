//! A sweep's outputs: each distinct output is created once, with one header (parameter columns first);
//! the workers write each combination into parts of its own ([`Part`]), and the parts are appended to
//! the outputs in combination order, so the rows come out grouped by combination, in order,
//! whatever the number of threads.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::part::{Budget, ChunkReader, Part, Rows};
use super::pieces::PieceAppend;
use super::rules::target_key;
use crate::base::datapoint::TubeId;
use crate::base::out::{Out, BUFFER};
use crate::base::{RunError, SinkError};
use crate::config::ParamValue;
use crate::graph::{journal_meta, Graph, NodeKind};
use crate::plugin::{Cell, Commit, Destination, OpenSink, RowWriter, SinkOutput};

/// One output a sweep writes.
pub struct Output {
    /// How errors name it.
    pub target: String,
    dest: Destination,
    /// Stdout closed by its reader: nothing more is written to it.
    closed: AtomicBool,
    /// A file written under a temporary name, put in its place when the sweep ends cleanly.
    staged: Option<Box<dyn Commit>>,
    /// A file output's rows, appended in whole pieces (from the first part on: the header goes
    /// before).
    pieces: Mutex<Option<PieceAppend>>,
}

/// Every distinct output of a sweep, and which one each combination's sink outputs write.
pub struct Outputs {
    /// The outputs, in the order they are first written.
    pub list: Vec<Output>,
    /// By combination: (sink tube id, output index in the sink) → output.
    of: Vec<HashMap<(TubeId, usize), usize>>,
    /// The memory the parts waiting to be appended share.
    budget: Arc<Budget>,
    /// What each parameter's values are.
    param_kinds: Vec<Cell>,
}

/// The names and kinds of sink `id`'s columns in `g`.
struct Columns<'g> {
    names: Vec<&'g str>,
    kinds: Vec<Cell>,
}

impl<'g> Columns<'g> {
    fn of(g: &'g Graph, id: TubeId) -> Self {
        let names = match &g.nodes[id as usize].kind {
            NodeKind::Sink { columns, .. } => columns.iter().map(|c| c.name.as_str()).collect(),
            _ => Vec::new(),
        };
        Columns {
            names,
            kinds: g.column_kinds(id),
        }
    }
}

/// The cx an output of sink `id` in `g` is opened with.
fn open_cx<'a>(
    g: &'a Graph,
    id: TubeId,
    columns: &'a Columns<'a>,
    params: (&'a [&'a str], &'a [Cell]),
    values: &'a [&'a ParamValue],
    meta: &'a dyn Fn() -> crate::journal::Meta,
) -> OpenSink<'a> {
    OpenSink {
        board: None,
        id,
        label: &g.nodes[id as usize].label,
        columns: &columns.names,
        kinds: &columns.kinds,
        with_status: false,
        meta,
        params: params.0,
        param_kinds: params.1,
        values,
        header: values.is_empty(),
    }
}

impl Outputs {
    /// Creates every distinct output of `graphs` (by target) and writes its header, unless an earlier
    /// shard's combinations write it (`before`); parts wait in `memory` bytes at most, together.
    pub fn open(
        graphs: &[Graph],
        params: &[&str],
        param_kinds: Vec<Cell>,
        before: &HashSet<String>,
        memory: usize,
    ) -> Result<Outputs, RunError> {
        let mut list: Vec<Output> = Vec::new();
        let mut by_target: HashMap<String, usize> = HashMap::new();
        let mut of = Vec::with_capacity(graphs.len());
        for g in graphs {
            let mut map = HashMap::new();
            for (id, j, o) in g.sink_outputs() {
                let target = target_key(o);
                let k = match by_target.get(&target) {
                    Some(&k) => k,
                    None => {
                        let header = !before.contains(&target);
                        let out = match Self::create(g, id, o, (params, &param_kinds), header) {
                            Ok(out) => out,
                            Err(e) => {
                                // A sweep that never started replaces nothing, and leaves no partial
                                // file or table (a database file it created stays). The outputs made
                                // are closed first: a partial file this run still holds is locked.
                                let made: Vec<_> =
                                    list.into_iter().filter_map(|o| o.staged).collect();
                                made.iter().for_each(|s| s.discard());
                                if let Some(s) = o.staged() {
                                    s.discard();
                                }
                                return Err(e);
                            }
                        };
                        list.push(out);
                        by_target.insert(target, list.len() - 1);
                        list.len() - 1
                    }
                };
                map.insert((id, j), k);
            }
            of.push(map);
        }
        Ok(Outputs {
            list,
            of,
            budget: Budget::new(memory),
            param_kinds,
        })
    }

    fn create(
        g: &Graph,
        id: TubeId,
        o: &dyn SinkOutput,
        params: (&[&str], &[Cell]),
        header: bool,
    ) -> Result<Output, RunError> {
        let Some(dest) = o.destination() else {
            return Err(RunError::Input(format!(
                "{} cannot be a sweep's output: its records have no room for the parameter columns; write the sweep to CSV, NDJSON, Parquet, SQLite, Postgres or Stdout",
                o.target()
            )));
        };
        let dest = dest?;
        let mut closed = false;
        let columns = Columns::of(g, id);
        let meta = || journal_meta(g, "output", 1);
        let cx = open_cx(g, id, &columns, params, &[], &meta);
        if let Destination::Assembled(a) = &dest {
            // Its own file whatever the shard: it takes the columns and parameters, not a header.
            let mut a = a.lock().unwrap_or_else(|e| e.into_inner());
            a.start(&cx)
                .map_err(|e| RunError::Sink(SinkError::new(o.target(), e)))?;
        } else if header {
            let handle = dest.handle().map_err(|e| sink_err(o, e))?;
            let written = o
                .format(Out::copying(handle, BUFFER), &cx)
                .and_then(|mut w| {
                    w.flush()
                        .map_err(|e| RunError::Sink(SinkError::new(o.target(), e)))
                });
            match written {
                Ok(()) => {}
                // Stdout's reader went away (`| head`): like a single run, carry on without it.
                Err(RunError::Sink(e)) if o.is_stdout() && e.is_broken_pipe() => closed = true,
                Err(e) => return Err(e),
            }
        }
        Ok(Output {
            target: o.target(),
            dest,
            closed: AtomicBool::new(closed),
            staged: o.staged(),
            pieces: Mutex::new(None),
        })
    }

    /// After a clean end: every output that re-encodes its parts ends, and every file output written
    /// under a temporary name becomes the output.
    pub fn commit(&self) -> Result<(), RunError> {
        for o in &self.list {
            if let Some(p) = o.pieces.lock().unwrap_or_else(|e| e.into_inner()).take() {
                p.finish()
                    .map_err(|e| SinkError::new(o.target.clone(), e))?;
            }
            if let Destination::Assembled(a) = &o.dest {
                let mut a = a.lock().unwrap_or_else(|e| e.into_inner());
                a.finish()
                    .map_err(|e| SinkError::new(o.target.clone(), e))?;
            }
        }
        for s in self.list.iter().filter_map(|o| o.staged.as_ref()) {
            s.commit().map_err(|e| SinkError::new(s.target(), e))?;
        }
        Ok(())
    }

    /// The writers of sink `id` of combination `c` (graph `g`), one per output, each writing into that
    /// output's part in `parts`.
    pub fn writers(
        &self,
        c: usize,
        g: &Graph,
        id: TubeId,
        params: &[&str],
        values: &[&ParamValue],
        parts: &[Option<Part>],
    ) -> Result<Vec<Box<dyn RowWriter>>, RunError> {
        let NodeKind::Sink { outputs, .. } = &g.nodes[id as usize].kind else {
            unreachable!("writers are opened for sinks")
        };
        let columns = Columns::of(g, id);
        let meta = || journal_meta(g, "output", 1);
        let cx = open_cx(g, id, &columns, (params, &self.param_kinds), values, &meta);
        let mut writers = Vec::with_capacity(outputs.len());
        for (j, o) in outputs.iter().enumerate() {
            let part = parts[self.of[c][&(id, j)]]
                .clone()
                .expect("a part for every output the combination writes");
            writers.push(o.format(Out::new(Box::new(part)), &cx)?);
        }
        Ok(writers)
    }

    /// The memory kept for parts that are not coming (see [`Budget::take_free`]).
    pub fn take_free(&self) -> Vec<Vec<u8>> {
        self.budget.take_free()
    }

    /// How many parts went on in a file past the memory budget, and the budget.
    pub fn spilled(&self) -> (u64, usize) {
        (self.budget.files(), self.budget.limit())
    }

    /// How many outputs there are (a combination writes some or all of them).
    pub fn count(&self) -> usize {
        self.list.len()
    }

    /// Appends a finished combination's parts to the outputs.
    pub fn append(&self, parts: Vec<Option<Part>>, bytes: &AtomicU64) -> Result<(), RunError> {
        for (out, part) in self.list.iter().zip(parts) {
            let Some(part) = part else { continue };
            if out.closed.load(Ordering::Relaxed) {
                part.drain(|_| Ok(()))
                    .map_err(|e| SinkError::new(out.target.clone(), e))?;
                continue;
            }
            let copied = part.drain(|rows| match &out.dest {
                Destination::File(f) => {
                    let mut p = out.pieces.lock().unwrap_or_else(|e| e.into_inner());
                    if p.is_none() {
                        *p = Some(PieceAppend::new(f.try_clone()?)?);
                    }
                    let p = p.as_mut().expect("made above");
                    match rows {
                        Rows::Memory(chunks) => {
                            (p.append(chunks)).map(|()| chunks.iter().map(|c| c.len() as u64).sum())
                        }
                        Rows::File(part) => io::copy(part, p),
                    }
                }
                Destination::Assembled(a) => {
                    let mut a = a.lock().unwrap_or_else(|e| e.into_inner());
                    match rows {
                        Rows::Memory(chunks) => a.append(&mut ChunkReader::new(chunks)),
                        Rows::File(part) => a.append(part),
                    }
                    .map_err(io::Error::other)
                }
                other => {
                    let mut w = other.handle()?;
                    rows.write_to(&mut w).and_then(|n| w.flush().map(|()| n))
                }
            });
            match copied {
                Ok(n) => {
                    bytes.fetch_add(n, Ordering::Relaxed);
                }
                Err(e)
                    if matches!(out.dest, Destination::Stdout)
                        && e.kind() == io::ErrorKind::BrokenPipe =>
                {
                    out.closed.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(SinkError::new(out.target.clone(), e).into()),
            }
        }
        Ok(())
    }

    /// A part for each output combination `c` writes (`None` for the others).
    pub fn parts(&self, c: usize) -> Vec<Option<Part>> {
        (0..self.list.len())
            .map(|k| (self.of[c].values().any(|&o| o == k)).then(|| Part::new(&self.budget)))
            .collect()
    }
}

fn sink_err(o: &dyn SinkOutput, e: io::Error) -> RunError {
    RunError::Sink(SinkError::new(o.target(), e))
}

//! A source kind: how a generator's `datasource:` is read, checked, opened and run.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_yaml::Value;

use crate::base::datapoint::TubeId;
use crate::base::points::Points;
use crate::base::{Ctx, GenCounters, Outlet, RunError};
use crate::config::{Diagnostics, PipelineType, Reader};

/// One kind of source, registered in [`super::Kinds`].
pub trait SourceKind: Sync {
    /// Its tag in `datasource: {Tag: payload}`.
    fn name(&self) -> &'static str;
    /// Reads `payload` (at YAML path `path`), recording every problem in `r`; `None` when it had any.
    fn parse(&self, r: &mut Reader<'_>, payload: &Value, path: &str) -> Option<Box<dyn Source>>;
}

/// What [`Source::check`] may look at.
pub struct CheckSource<'a> {
    /// Batch or Stream.
    pub pipeline: &'a PipelineType,
    /// The YAML path of the payload (`tubes[0].Generator.datasource.CSV`), for diagnostics.
    pub path: &'a str,
    /// Checks already made while checking other configs of the same sweep.
    pub memo: &'a CheckMemo,
}

/// What sources learned when they checked, kept while one thread checks a sweep's combinations: a
/// source whose check depends only on what it reads (a CSV file's layout) looks the answer up by its
/// own description instead of reading the file again for each of hundreds of combinations. A memo
/// lives as long as one expansion, over which the files are taken not to change.
#[derive(Default)]
pub struct CheckMemo(RefCell<HashMap<String, Box<dyn Any>>>);

impl CheckMemo {
    /// A key for an answer about `paths` (`what` names the question): each path written whole after
    /// its length, so that no two lists of paths share a key, and without `Debug`'s escaping unless
    /// the path is not UTF-8 (a sweep builds such keys for every combination).
    pub fn path_key(what: &str, paths: &[&Path]) -> String {
        use std::fmt::Write;
        let mut key = String::from(what);
        for p in paths {
            let _ = match p.to_str() {
                Some(s) => write!(key, "|{}:{s}", s.len()),
                None => write!(key, "|?{p:?}"),
            };
        }
        key
    }

    /// The answer stored under `key`, or `check()`'s, stored.
    pub fn get_or<T: Clone + 'static>(&self, key: String, check: impl FnOnce() -> T) -> T {
        if let Some(t) = self
            .0
            .borrow()
            .get(&key)
            .and_then(|v| v.downcast_ref::<T>())
        {
            return t.clone();
        }
        let t = check();
        self.0.borrow_mut().insert(key, Box::new(t.clone()));
        t
    }
}

/// Which thread a source runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Thread {
    /// A thread of its own, named after the generator, with its own ring to the sequencer.
    Own,
    /// One thread for every source with this name (the live feeds' I/O thread), with one ring.
    Shared {
        /// The ring's name in latency tables and drop counts (`feeds`).
        ring: &'static str,
        /// The thread's name (`tubes-io`).
        thread: &'static str,
    },
}

/// What the engine gives a source when it opens it.
pub struct OpenSource {
    /// The generator's tube id (the `source` of its datapoints).
    pub id: TubeId,
    /// The Batch range `[from, to)`, or `None` in Stream.
    pub range: Option<(i64, i64)>,
    /// `used[slot]`: whether any tube reads that field of its schema.
    pub used: Vec<bool>,
    /// Where it counts what it does.
    pub counters: Arc<GenCounters>,
}

/// A checked generator's source.
pub trait Source: Debug + Send + Sync {
    /// Checks what parsing could not (the pipeline type, files, certificates) and returns the names of
    /// the fields it emits, in slot order; `None` after recording why not in `diag`.
    fn check(&mut self, cx: &CheckSource<'_>, diag: &mut Diagnostics) -> Option<Vec<String>>;
    /// How `tubes graph` describes it (`CSV testdata/x.csv`).
    fn describe(&self) -> String;
    /// A live feed's name (`binance btcusdt`): sinks downstream of one get a `status` column.
    fn feed(&self) -> Option<String> {
        None
    }
    /// The market it streams (`btcusdt`), so that a sink's `fields` may name the generator by its
    /// symbol (`BTCUSDT:`, ignoring case) as well as by its label.
    fn symbol(&self) -> Option<String> {
        None
    }
    /// The fields (by name, after [`Source::check`]) whose values are key names, carried as their
    /// numbers in [`crate::base::keys`]: a CSV column of text, the market of a multi-market feed.
    fn key_fields(&self) -> Vec<String> {
        Vec::new()
    }
    /// The files it reads, so that no sink of the same run may write one of them.
    fn reads(&self) -> Vec<&Path> {
        Vec::new()
    }
    /// Which thread it runs on.
    fn thread(&self) -> Thread {
        Thread::Own
    }
    /// Opens its run loop (files mapped, buffers sized) before the run starts ([`Thread::Own`]).
    fn open(&self, at: OpenSource) -> Result<Box<dyn SourceRun>, RunError>;
    /// Opens one run loop for every source of a [`Thread::Shared`] thread: the engine calls this on the
    /// first of them, with all of them (this one first) in `group`.
    fn open_shared(
        &self,
        group: Vec<(OpenSource, &dyn Source)>,
    ) -> Result<Box<dyn SourceRun>, RunError> {
        let _ = group;
        unreachable!("only sources on a shared thread are opened together")
    }
    /// For a kind opening a group: this source as its concrete type.
    fn as_any(&self) -> &dyn Any;
}

/// How long a run may go on, for sources that would otherwise run forever.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// End after this long (`--duration`).
    pub duration: Option<Duration>,
    /// End once no data has arrived for this long (`--idle-exit`, live feeds).
    pub idle_exit: Option<Duration>,
}

/// A source's run loop, on its own thread.
pub trait SourceRun: Send {
    /// Pushes every datapoint into `out` until the input ends, the run is stopped or it fails.
    fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError>;
    /// Reads every datapoint into `into` on the calling thread (a sweep reads each input once); only
    /// sources that end by themselves can.
    fn collect(&mut self, into: &mut Points, ctx: &mut Ctx) -> Result<(), RunError> {
        let _ = (into, ctx);
        Err(RunError::Input(
            "this source runs live; a sweep reads inputs that end (Batch files)".into(),
        ))
    }
    /// Bytes of input in all, for the progress bar (0 when unknown).
    fn bytes(&self) -> u64 {
        0
    }
    /// Applies run limits; sources that end by themselves ignore them.
    fn limit(&mut self, _limits: Limits) {}
}

#[cfg(test)]
mod tests {
    use super::CheckMemo;

    #[test]
    fn a_memo_checks_each_key_once_and_keeps_keys_apart() {
        let memo = CheckMemo::default();
        let mut calls = 0;
        let mut get = |key: &str, answer: u32| {
            memo.get_or(key.to_string(), || {
                calls += 1;
                answer
            })
        };
        assert_eq!(get("a.csv", 1), 1);
        assert_eq!(get("a.csv", 2), 1, "the first answer is kept");
        assert_eq!(get("b.csv", 3), 3);
        assert_eq!(calls, 2);
    }

    #[test]
    fn path_keys_tell_apart_paths_that_join_alike() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        use std::path::Path;
        let key = |ps: &[&str]| {
            let ps: Vec<&Path> = ps.iter().map(Path::new).collect();
            CheckMemo::path_key("same", &ps)
        };
        assert_ne!(key(&["a|b", "c"]), key(&["a", "b|c"]));
        assert_ne!(key(&["a|1:b"]), key(&["a", "b"]));
        assert_eq!(key(&["x.csv", "y.csv"]), key(&["x.csv", "y.csv"]));
        let bad = Path::new(OsStr::from_bytes(b"r\xffs.csv"));
        let other = Path::new(OsStr::from_bytes(b"r\xfes.csv"));
        assert_ne!(
            CheckMemo::path_key("same", &[bad]),
            CheckMemo::path_key("same", &[other])
        );
    }
}

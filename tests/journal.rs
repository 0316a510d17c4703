//! The journal on its own: round trips across segment rolls, `kill -9` at random moments, a torn tail,
//! a tailer in another process that restarts, a full disk and a damaged segment.
//!
//! Child processes are this test binary run again with an environment variable naming their role.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tempdir;
use tubes::base::datapoint::{Datapoint, Kind};
use tubes::journal::{JournalError, Meta, Next, Reader, SyncPolicy, Tailer, TubeMeta, Writer};

/// The datapoint stored as record `i`: every field derived from `i`, so any record can be checked alone.
fn record(i: u64) -> Datapoint {
    let mut dp = Datapoint::new(
        if i.is_multiple_of(7) {
            Kind::Tick
        } else {
            Kind::Data
        },
        (i % 3) as u16,
        1_700_000_000_000_000_000 + i as i64 * 1_000_000,
        i * 10,
    );
    dp.seq = i + 1;
    dp.len = 4;
    dp.values[..4].copy_from_slice(&[
        i as f64,
        (i as f64).sqrt(),
        -(i as f64),
        1.0 / (i as f64 + 1.0),
    ]);
    dp
}

fn same(a: &Datapoint, b: &Datapoint) -> bool {
    tubes::journal::format::encode(a) == tubes::journal::format::encode(b)
}

fn meta(segment_records: u64) -> Meta {
    Meta {
        id: 0,
        format: "tubes-journal".into(),
        version: tubes::journal::format::VERSION,
        content: "input".into(),
        segment_records,
        config_hash: "0".into(),
        config_file: "test".into(),
        config: String::new(),
        tubes: vec![TubeMeta {
            label: "src".into(),
            kind: "Generator".into(),
            fields: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            recorded: None,
        }],
    }
}

/// Reads every whole record from the start; returns them and what stopped the reading.
fn read_all(dir: &Path) -> (Vec<Datapoint>, Next) {
    let mut r = Reader::open(dir).unwrap();
    let mut out = Vec::new();
    loop {
        match r.next_record().unwrap() {
            Next::Record(dp) => out.push(dp),
            other => return (out, other),
        }
    }
}

/// What a writer child prints once its journal is open.
const READY: &str = "writer ready";

/// Reads the child's stdout until it says it is ready (the test harness prints its own lines too).
fn wait_for_ready(c: &mut std::process::Child) {
    use std::io::BufRead;
    let out = c.stdout.take().expect("stdout piped");
    let mut lines = std::io::BufReader::new(out).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(READY) => break,
            Some(Ok(_)) => {}
            _ => panic!("the writer child ended before it was ready"),
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
}

/// Child role: append records forever (until killed), creating the journal if needed.
fn writer_child(dir: &Path) {
    let mut w = match Writer::open(dir, SyncPolicy::Never) {
        Ok(w) => w,
        Err(_) => Writer::create(dir, meta(1000), SyncPolicy::Never).unwrap(),
    };
    // At most 500 records a millisecond and 2 million in all (under 300 MB), so a round of the test writes
    // a few segments, never a disk's worth.
    // The parent kills this process at a random moment once it reads this line.
    println!("{READY}");
    while w.records() < 2_000_000 {
        for _ in 0..500 {
            let i = w.records();
            w.append(&record(i)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_secs(60));
}

/// Child role: follow the journal from the saved position, print each record's index, save the position
/// after each one, and stop after `count` records.
fn tailer_child(dir: &Path, pos_file: &Path, count: usize) {
    let from = std::fs::read_to_string(pos_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let mut t = Tailer::open(dir, from).unwrap();
    for _ in 0..count {
        let dp = t
            .next(Duration::from_secs(20))
            .unwrap()
            .expect("a record within 20 s");
        // Marked: the test harness prints on the same lines.
        println!("rec {} end", dp.values[0]);
        let tmp = pos_file.with_extension("tmp");
        std::fs::write(&tmp, t.position().to_string()).unwrap();
        std::fs::rename(&tmp, pos_file).unwrap();
    }
}

/// Child role: append to an existing journal until it cannot allocate a segment (at most 2,000 appends,
/// so it can never fill a disk); print the error.
fn full_disk_child(dir: &Path) {
    let mut w = Writer::open(dir, SyncPolicy::Never).unwrap();
    for _ in 0..2000 {
        let i = w.records();
        if let Err(e) = w.append(&record(i)) {
            println!("{e}");
            return;
        }
    }
}

#[test]
fn child_roles() {
    let dir = std::env::var_os("TUBES_JOURNAL_DIR");
    match (std::env::var("TUBES_JOURNAL_ROLE").as_deref(), dir) {
        (Ok("writer"), Some(d)) => writer_child(Path::new(&d)),
        (Ok("tailer"), Some(d)) => tailer_child(
            Path::new(&d),
            Path::new(&std::env::var("TUBES_JOURNAL_POS").unwrap()),
            std::env::var("TUBES_JOURNAL_COUNT")
                .unwrap()
                .parse()
                .unwrap(),
        ),
        (Ok("full"), Some(d)) => full_disk_child(Path::new(&d)),
        _ => {}
    }
}

fn child(role: &str, dir: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "child_roles",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("TUBES_JOURNAL_ROLE", role)
    .env("TUBES_JOURNAL_DIR", dir);
    c
}

#[test]
fn records_read_back_identical_across_segment_rolls() {
    let dir = tempdir();
    let d = dir.path().join("j");
    let mut w = Writer::create(&d, meta(100), SyncPolicy::Segment).unwrap();
    for i in 0..1050 {
        assert_eq!(w.append(&record(i)).unwrap(), i);
    }
    assert_eq!(w.close().unwrap(), 1050);
    // The segment made ahead for record 1100 on is removed with the writer: only segments 0–10 remain.
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    let (got, end) = read_all(&d);
    assert_eq!(end, Next::End);
    assert_eq!(got.len(), 1050);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, dp)| same(dp, &record(i as u64))));
    assert_eq!(
        Reader::open(&d).unwrap().segments(),
        11,
        "1050 records in segments of 100"
    );
    // meta.json as given, with the journal's id the writer chose (every segment's header holds it).
    let m = Meta::load(&d).unwrap();
    assert_ne!(m.id, 0);
    assert_eq!(Meta { id: 0, ..m }, meta(100));
    // Reopened, it appends after the last record.
    let mut w = Writer::open(&d, SyncPolicy::Never).unwrap();
    assert_eq!(w.recovered.records, 1050);
    assert_eq!(w.append(&record(1050)).unwrap(), 1050);
}

#[test]
fn a_second_writer_and_a_second_create_are_refused() {
    let dir = tempdir();
    let d = dir.path().join("j");
    let _w = Writer::create(&d, meta(10), SyncPolicy::Never).unwrap();
    assert!(matches!(
        Writer::open(&d, SyncPolicy::Never),
        Err(JournalError::Busy(_))
    ));
    let e = Writer::create(&d, meta(10), SyncPolicy::Never)
        .err()
        .unwrap();
    assert!(e.to_string().contains("already holds a journal"), "{e}");
}

#[test]
fn kill_9_at_random_moments_loses_no_committed_record_and_appending_goes_on() {
    let dir = tempdir();
    let d = dir.path().join("j");
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut before = 0;
    for round in 0..20 {
        let mut c = child("writer", &d).stdout(Stdio::piped()).spawn().unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // The child says when it has opened the journal and is writing; the kill then comes at a
        // random moment 0–40 ms into the writing (the delay is the test's randomness, not a wait).
        wait_for_ready(&mut c);
        std::thread::sleep(Duration::from_millis(seed % 40));
        c.kill().unwrap();
        c.wait().unwrap();
        let (got, end) = read_all(&d);
        assert_eq!(
            end,
            Next::End,
            "round {round}: a process crash tears nothing"
        );
        assert!(
            got.len() >= before,
            "round {round}: records only accumulate"
        );
        for (i, dp) in got.iter().enumerate() {
            assert!(
                same(dp, &record(i as u64)),
                "round {round}: record {i} intact"
            );
        }
        before = got.len();
    }
    assert!(
        before > 1000,
        "the children wrote across segment rolls: {before}"
    );
    let w = Writer::open(&d, SyncPolicy::Never).unwrap();
    assert_eq!(
        w.recovered,
        tubes::journal::Recovery {
            records: before as u64,
            torn: 0
        }
    );
}

#[test]
fn a_torn_record_is_reported_to_readers_and_discarded_on_reopening() {
    let dir = tempdir();
    let d = dir.path().join("j");
    let mut w = Writer::create(&d, meta(10), SyncPolicy::Never).unwrap();
    for i in 0..5 {
        w.append(&record(i)).unwrap();
    }
    drop(w);
    // What a power loss can leave: slot 5's marker on disk, its body not (or damaged).
    let seg = d.join("00000000.seg");
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = 64 + 5 * 144;
    bytes[at..at + 8].copy_from_slice(&6u64.to_le_bytes());
    bytes[at + 16] = 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let (got, end) = read_all(&d);
    assert_eq!(
        (got.len(), end),
        (5, Next::Torn),
        "a reader stops at the torn record"
    );
    let mut w = Writer::open(&d, SyncPolicy::Never).unwrap();
    assert_eq!(
        w.recovered,
        tubes::journal::Recovery {
            records: 5,
            torn: 1
        }
    );
    assert_eq!(
        w.append(&record(5)).unwrap(),
        5,
        "appending takes the torn record's place"
    );
    drop(w);
    let (got, end) = read_all(&d);
    assert_eq!((got.len(), end), (6, Next::End));
    assert!(same(&got[5], &record(5)));
}

#[test]
fn a_tailer_in_another_process_sees_every_record_once_in_order_across_its_restart() {
    let dir = tempdir();
    let d = dir.path().join("j");
    let pos = dir.path().join("pos");
    let mut w = Writer::create(&d, meta(64), SyncPolicy::Never).unwrap();
    let spawn = |count: usize| {
        child("tailer", &d)
            .env("TUBES_JOURNAL_POS", &pos)
            .env("TUBES_JOURNAL_COUNT", count.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The first tailer takes 150 records and stops; the second resumes from its saved position.
    let first = spawn(150);
    for i in 0..100 {
        w.append(&record(i)).unwrap();
        if i.is_multiple_of(10) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    for i in 100..300 {
        w.append(&record(i)).unwrap();
    }
    let out1 = first.wait_with_output().unwrap();
    assert!(out1.status.success());
    let second = spawn(150);
    let out2 = second.wait_with_output().unwrap();
    assert!(out2.status.success());
    let seen: Vec<u64> = String::from_utf8(out1.stdout)
        .unwrap()
        .lines()
        .chain(String::from_utf8(out2.stdout).unwrap().lines())
        .filter_map(|l| l.split("rec ").nth(1)?.split(" end").next()?.parse().ok())
        .collect();
    assert_eq!(
        seen,
        (0..300).collect::<Vec<u64>>(),
        "each record once, in order"
    );
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_journal_still_opens() {
    let dir = tempdir();
    let d = dir.path().join("j");
    let mut w = Writer::create(&d, meta(1000), SyncPolicy::Never).unwrap();
    for i in 0..1999 {
        w.append(&record(i)).unwrap();
    }
    drop(w);
    // The child may not write a file over 100 KiB (bash counts `ulimit -f` in KiB): it fills the last slot
    // of segment 1, then cannot allocate segment 2 (144 KB). SIGXFSZ is ignored, so the write fails with
    // EFBIG, as it would with ENOSPC on a full disk, instead of killing the child.
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("bash")
        .args([
            "-c",
            "ulimit -f 100; trap '' XFSZ; exec \"$0\" --exact child_roles --nocapture --test-threads 1",
        ])
        .arg(&exe)
        .env("TUBES_JOURNAL_ROLE", "full")
        .env("TUBES_JOURNAL_DIR", &d)
        .output()
        .unwrap();
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("cannot allocate segment"), "{said}");
    assert!(said.contains("File too large"), "{said}");
    assert!(
        said.contains("free disk space"),
        "says how to fix it: {said}"
    );
    let (got, end) = read_all(&d);
    assert_eq!(end, Next::End);
    assert_eq!(
        got.len(),
        2000,
        "every record committed before the error reads back"
    );
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, dp)| same(dp, &record(i as u64))));
    assert!(
        std::fs::read_dir(&d).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "the partial segment was removed"
    );
    let w = Writer::open(&d, SyncPolicy::Never).unwrap();
    assert_eq!(w.recovered.records, 2000, "and the journal opens to append");
}

#[test]
fn a_damaged_segment_is_named_in_the_error() {
    let dir = tempdir();
    let d = dir.path().join("j");
    let mut w = Writer::create(&d, meta(10), SyncPolicy::Never).unwrap();
    w.append(&record(0)).unwrap();
    drop(w);
    let seg = d.join("00000000.seg");
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(100).unwrap();
    let e = Reader::open(&d).unwrap().next_record().err().unwrap();
    assert!(e.to_string().contains("00000000.seg"), "{e}");
    assert!(
        e.to_string().contains("where a segment of 10 records has"),
        "{e}"
    );
}

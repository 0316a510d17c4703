//! Promise 4: files that change under a run end it with an error naming the file, never with SIGBUS.
//! `tubes check` reads a CSV's head and tail (it does not map it); a run reads the whole file into
//! memory when its generator starts and checks it is the size the check saw.

use super::common::*;
use super::main_job_in;

#[test]
fn a_file_that_changed_after_the_check_stops_the_run_naming_it() {
    let dir = tempdir();
    let (cfg, btc, _, out) = main_job_in(dir.path());
    let whole = std::fs::read(&btc).unwrap();
    for (what, bytes) in [
        ("truncated", whole[..whole.len() / 3].to_vec()),
        ("grown", [whole.as_slice(), whole.as_slice()].concat()),
        ("emptied", Vec::new()),
    ] {
        std::fs::write(&btc, &whole).unwrap();
        let g = tubes::api::load(&cfg).unwrap();
        std::fs::write(&btc, &bytes).unwrap();
        let err = within(60, move || tubes::api::run(&g, |_| {}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "btc.csv' changed after the config was checked: it was {} bytes, it is {}",
                whole.len(),
                bytes.len()
            )),
            "{what}: {err}"
        );
        assert!(!out.exists(), "{what}");
    }
}

#[test]
fn a_file_truncated_after_the_run_opened_it_does_not_fault_the_run() {
    let dir = tempdir();
    let (cfg, btc, _, out) = main_job_in(dir.path());
    let g = tubes::api::load(&cfg).unwrap();
    let engine = tubes::runtime::Engine::build(&g, &tubes::graph::plan(&g)).unwrap();
    // Truncated between opening and reading: a memory map, which runs used to read through, faulted
    // with SIGBUS on the missing pages.
    std::fs::File::create(&btc).unwrap();
    let err = within(60, move || engine.start().unwrap().finish(|_| {}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("btc.csv' changed after the config was checked"),
        "{err}"
    );
    assert!(err.contains("it is 0"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_journal_truncated_while_it_is_replayed_stops_the_replay_naming_it() {
    let dir = tempdir();
    let (cfg, _, _, _) = main_job_in(dir.path());
    let journal = super::record(&cfg, dir.path());
    let g = tubes::api::load(&cfg).unwrap();
    let reader = tubes::journal::Reader::open(&journal).unwrap();
    // At a thousandth of the recorded pace the replay takes tens of seconds to reach its second chunk
    // of slots; the segments are cut long before.
    let (engine, _) = tubes::api::replay(reader, &g, Some(0.001), false).unwrap();
    let running = engine.start().unwrap();
    // The first progress report comes 200 ms into the run, when the replay has opened segment 0 and
    // copied its first chunk: the segments are cut then.
    let mut cut = false;
    let err = within(120, move || {
        running.finish(move |_| {
            if !std::mem::replace(&mut cut, true) {
                for seg in ["00000000.seg", "00000001.seg"] {
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .open(journal.join(seg))
                        .unwrap();
                    f.set_len(1000).unwrap();
                }
            }
        })
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("00000000.seg: was cut while it was read"),
        "{err}"
    );
}

#[test]
fn a_journal_truncated_while_it_is_tailed_stops_the_tailer_naming_it() {
    use std::io::BufRead;
    let dir = tempdir();
    let (cfg, _, _, _) = main_job_in(dir.path());
    let journal = super::record(&cfg, dir.path());
    let mut reader = tubes::journal::Reader::open(&journal).unwrap();
    let mut records = 0u64;
    while let tubes::journal::Next::Record(_) = reader.next_record().unwrap() {
        records += 1;
    }
    let last = records - 1;
    let seg = format!("{:08}.seg", last / reader.meta().segment_records);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(["journal", "tail", journal.to_str().unwrap(), "--from"])
        .arg(last.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The last record printed: the tailer now looks again and again at the slot after it, in the
    // segment that is cut here (a tailer that mapped it died of SIGBUS at its next look).
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains(&format!("\"index\":{last}")), "{line}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(journal.join(&seg))
        .unwrap()
        .set_len(1000)
        .unwrap();
    let out = within(30, move || child.wait_with_output().unwrap());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{seg}: was cut while it was read")),
        "{err}"
    );
}

/// `tubes journal tail DIR --from FROM`, with its stdout's lines and its stderr piped.
fn tail(
    dir: &std::path::Path,
    from: u64,
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(["journal", "tail", dir.to_str().unwrap(), "--from"])
        .arg(from.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

#[test]
fn a_tailer_refuses_another_journals_segment_and_a_removed_one() {
    let dir = tempdir();
    let (cfg, _, _, _) = main_job_in(dir.path());
    let a = super::record(&cfg, dir.path());
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let b = super::record(&cfg, &other);
    let slots = tubes::journal::Meta::load(&a).unwrap().segment_records;
    // Segment 1 of another recording of the same run, put in place before the tailer reaches it.
    std::fs::copy(b.join("00000001.seg"), a.join("00000001.seg")).unwrap();
    let (child, mut lines) = tail(&a, slots - 1);
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains(&format!("\"index\":{}", slots - 1)), "{line}");
    let out = within(30, move || child.wait_with_output().unwrap());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("00000001.seg: a segment of another journal"),
        "{err}"
    );
    // The last segment removed while the tailer waits at its end (after its last record).
    let mut reader = tubes::journal::Reader::open(&b).unwrap();
    while let tubes::journal::Next::Record(_) = reader.next_record().unwrap() {}
    let last = reader.position() - 1;
    assert!(last >= slots, "the journal has a second segment");
    let (child, mut lines) = tail(&b, last);
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains(&format!("\"index\":{last}")), "{line}");
    std::fs::remove_file(b.join("00000001.seg")).unwrap();
    let out = within(30, move || child.wait_with_output().unwrap());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("00000001.seg: was removed while it was followed"),
        "{err}"
    );
}

#[test]
fn a_tailer_started_before_its_journal_waits_for_it() {
    let dir = tempdir();
    let (cfg, _, _, _) = main_job_in(dir.path());
    let journal = dir.path().join("journal");
    let mut t = Watched::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
            .args(["journal", "tail", journal.to_str().unwrap()])
            .stdout(std::process::Stdio::piped()),
    );
    t.wait_for_line("waiting for a journal in", 30);
    super::record(&cfg, dir.path());
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(t.child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("\"index\":0"), "{first}");
    t.child.kill().unwrap();
    t.child.wait().unwrap();
}

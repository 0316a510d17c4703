//! Promise 6: journals report damage as damage. A bad record or a missing segment with whole records
//! after it is corruption: `journal info` says where and how many records follow (exit 1), `replay`
//! refuses (exit 1) and `replay --skip-damaged` replays around it, counting what it skipped. A torn
//! last record stays a torn tail. A what-if replay reading a field the recording does not hold is a
//! config error naming it.

use std::path::{Path, PathBuf};

use super::common::*;
use super::main_job_in;

/// Bytes before a segment's first slot, and per slot (the README's layout).
const HEADER: u64 = 64;
const SLOT: u64 = 144;
const SEGMENT_RECORDS: u64 = 65_536;

/// The main job recorded into a journal: (dir, config, btc, eth, journal).
fn recorded() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf, PathBuf) {
    let dir = tempdir();
    let (cfg, btc, eth, _) = main_job_in(dir.path());
    let journal = super::record(&cfg, dir.path());
    (dir, cfg, btc, eth, journal)
}

/// The main job's datapoints in sequence order, by a plain merge of the two files: (time, is_eth).
fn sequence(btc: &Path, eth: &Path) -> Vec<(i64, u8)> {
    let (from, to) = (ms("2023-03-17T00:00:00Z"), ms("2023-05-01T00:00:00Z"));
    let mut events: Vec<(i64, u8)> = read_bars(btc.to_str().unwrap())
        .iter()
        .map(|b| (b.0, 0))
        .chain(read_bars(eth.to_str().unwrap()).iter().map(|b| (b.0, 1)))
        .filter(|e| e.0 >= from && e.0 < to)
        .collect();
    events.sort();
    events
}

/// Flips one bit in the payload of record `index`.
fn flip(journal: &Path, index: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let seg = journal.join(format!("{:08}.seg", index / SEGMENT_RECORDS));
    let at = HEADER + SLOT * (index % SEGMENT_RECORDS) + 16 + 24;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(seg)
        .unwrap();
    let mut b = [0u8];
    f.seek(SeekFrom::Start(at)).unwrap();
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[b[0] ^ 1]).unwrap();
}

fn journal_cmd(args: &[&str], journal: &Path) -> (i32, String, String) {
    let mut all = args.to_vec();
    all.insert(
        if args[0] == "journal" { 2 } else { 1 },
        journal.to_str().unwrap(),
    );
    tubes(&all)
}

#[test]
fn a_bad_record_in_the_middle_is_damage_refused_by_replay_and_skipped_on_request() {
    let (dir, cfg, btc, eth, journal) = recorded();
    let seq = sequence(&btc, &eth);
    let total = seq.len() as u64;
    let k = 1000u64;
    flip(&journal, k);
    let (code, info, err) = journal_cmd(&["journal", "info"], &journal);
    assert_eq!(code, 1, "{info}{err}");
    assert!(
        info.contains(&format!("{} records in 2 segments", total - 1)),
        "{info}"
    );
    assert!(
        info.contains(&format!(
            "damage: records {k}..{} (1 record) unreadable",
            k + 1
        )) && info.contains(&format!("{} whole records follow", total - k - 1)),
        "{info}"
    );
    assert!(info.contains("torn records: none"), "{info}");
    let (code, _, err) = journal_cmd(&["replay", "-q"], &journal);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is damaged: records 1000..1001"), "{err}");
    // Around the damage: the answer of the datapoints without record k.
    let out = dir.path().join("around.csv");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &dir.path().join("out.csv").display().to_string(),
        &out.display().to_string(),
    );
    let around = write_config(dir.path(), "around.yaml", &text);
    let (code, _, err) = journal_cmd(
        &[
            "replay",
            "--skip-damaged",
            "--config",
            around.to_str().unwrap(),
        ],
        &journal,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 records in damaged stretches skipped"),
        "{err}"
    );
    let (t, is_eth) = seq[k as usize];
    let without = |path: &Path, mine: bool| -> Vec<(i64, f64)> {
        let bars = read_bars(path.to_str().unwrap());
        bars.into_iter().filter(|b| !(mine && b.0 == t)).collect()
    };
    let windows = main_job_windows_of(&without(&btc, is_eth == 0), &without(&eth, is_eth == 1));
    super::assert_rows(&out, &windows);
}

#[test]
fn a_missing_segment_before_present_ones_is_damage() {
    let (_dir, _, btc, eth, journal) = recorded();
    let total = sequence(&btc, &eth).len() as u64;
    std::fs::remove_file(journal.join("00000000.seg")).unwrap();
    let (code, info, _) = journal_cmd(&["journal", "info"], &journal);
    assert_eq!(code, 1, "{info}");
    assert!(
        info.contains(&format!(
            "damage: records 0..{SEGMENT_RECORDS} ({SEGMENT_RECORDS} records) in segment file 00000000.seg, which is missing"
        )) && info.contains(&format!("{} whole records follow", total - SEGMENT_RECORDS)),
        "{info}"
    );
    let (code, _, err) = journal_cmd(&["replay", "-q"], &journal);
    assert_eq!(code, 1, "{err}");
    let (code, dump, err) = journal_cmd(&["journal", "dump"], &journal);
    assert_eq!(code, 1, "{err}");
    assert_eq!(dump.lines().count(), 1, "only the header before the damage");
}

#[test]
fn a_torn_last_record_is_a_torn_tail_not_damage() {
    let (_dir, _, btc, eth, journal) = recorded();
    let total = sequence(&btc, &eth).len() as u64;
    flip(&journal, total - 1);
    let (code, info, err) = journal_cmd(&["journal", "info"], &journal);
    assert_eq!(code, 0, "{err}");
    assert!(
        info.contains(&format!("torn records: yes, at record {}", total - 1))
            && info.contains("damage: none"),
        "{info}"
    );
    let (code, _, err) = journal_cmd(&["replay"], &journal);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("replay: {} records", total - 1))
            && err.contains("ends in a torn record"),
        "{err}"
    );
}

#[test]
fn a_what_if_replay_may_not_read_a_field_that_was_not_recorded() {
    let (dir, cfg, _, _, journal) = recorded();
    // The recorded run read only Volume; this one asks for the highest Close.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("SUM: {field: Volume}", "MAX: {field: Close}")
        .replace(
            "field: sum_Volume, threshold: 1000",
            "field: max_Close, threshold: 1",
        )
        .replace("btc_vol_sum: [sum_Volume]", "btc_vol_sum: [max_Close]")
        .replace(
            "eth_counter: [count, sum_Volume]",
            "eth_counter: [count, max_Close]",
        );
    let what_if = write_config(dir.path(), "close.yaml", &text);
    let (code, _, err) = journal_cmd(&["replay", "--config", what_if.to_str().unwrap()], &journal);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "field 'Close' of generator 'btc' was not recorded: the recorded run read only Volume"
        ),
        "{err}"
    );
}

#[test]
fn a_truncated_last_segment_is_damage_refused_before_any_row() {
    let (_dir, _, _, _, journal) = recorded();
    let last = journal.join("00000001.seg");
    let f = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    f.set_len(4_000_000).unwrap();
    let (code, info, err) = journal_cmd(&["journal", "info"], &journal);
    assert_eq!(code, 1, "{info}{err}");
    assert!(
        info.contains(&format!(
            "damage: records {SEGMENT_RECORDS}..{} ({SEGMENT_RECORDS} records) in segment file 00000001.seg, which cannot be read",
            2 * SEGMENT_RECORDS
        )) && info.contains("0 whole records follow"),
        "{info}"
    );
    let (code, rows, err) = journal_cmd(&["replay"], &journal);
    assert_eq!(code, 1, "{err}");
    assert!(rows.is_empty(), "refused before any row: {rows:.200}");
    assert!(err.contains("is damaged"), "{err}");
}

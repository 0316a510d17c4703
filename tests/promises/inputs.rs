//! Promise 1: inputs are never written. An output that is an input of the run (under any spelling of
//! its path, or through a link), two outputs on one file, and an output inside the journal being
//! replayed are config errors at the output's line; nothing is written.

use super::common::*;
use super::{line_of, main_job_in};

#[test]
fn an_output_that_is_an_input_under_another_spelling_is_refused_and_the_input_kept() {
    let dir = tempdir();
    let (cfg, btc, _, out) = main_job_in(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap();
    let original = std::fs::read(&btc).unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&btc, &link).unwrap();
    let spellings = [
        format!("{}/sub/../btc.csv", dir.path().display()),
        format!("{}/./btc.csv", dir.path().display()),
        link.display().to_string(),
    ];
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for spelling in spellings {
        let bad = text.replace(
            &format!("{{CSV: {}}}", out.display()),
            &format!("{{CSV: {spelling}}}"),
        );
        let cfg = write_config(dir.path(), "bad.yaml", &bad);
        let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
        assert_eq!(code, 2, "{spelling}: {err}");
        let line = line_of(&bad, &spelling);
        assert!(
            err.contains(&format!("bad.yaml:{line}:"))
                && err.contains("the file generator 'btc' reads"),
            "{spelling}: {err}"
        );
        assert_eq!(std::fs::read(&btc).unwrap(), original, "{spelling}");
    }
}

#[test]
fn two_outputs_on_one_file_through_a_hard_link_are_refused() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    std::fs::write(&out, "kept\n").unwrap();
    let twin = dir.path().join("twin.json");
    std::fs::hard_link(&out, &twin).unwrap();
    let bad = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("{{CSV: {}}}", out.display()),
        &format!(
            "[{{CSV: {}}}, {{NDJSON: {}}}]",
            out.display(),
            twin.display()
        ),
    );
    let cfg = write_config(dir.path(), "twin.yaml", &bad);
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("two outputs would interleave their rows"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "kept\n");
}

#[test]
fn a_replay_may_not_write_inside_the_journal_it_reads() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    let journal = super::record(&cfg, dir.path());
    let listing = |d: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing(&journal);
    let inside = std::fs::read_to_string(&cfg).unwrap().replace(
        &out.display().to_string(),
        &journal.join("rows.csv").display().to_string(),
    );
    let what_if = write_config(dir.path(), "inside.yaml", &inside);
    let (code, _, err) = tubes(&[
        "replay",
        journal.to_str().unwrap(),
        "--config",
        what_if.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("inside the journal being replayed"), "{err}");
    assert_eq!(listing(&journal), before, "nothing was written there");
}

#[test]
fn an_output_whose_partial_file_is_an_input_or_that_is_the_config_is_refused() {
    let dir = tempdir();
    let (cfg, btc, _, out) = main_job_in(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap();
    // The input is named like the output's partial file: writing the output would destroy it.
    let partial_input = dir.path().join("rows.csv.partial");
    std::fs::copy(&btc, &partial_input).unwrap();
    let original = std::fs::read(&partial_input).unwrap();
    let bad = text
        .replace(
            &btc.display().to_string(),
            &partial_input.display().to_string(),
        )
        .replace(
            &out.display().to_string(),
            &dir.path().join("rows.csv").display().to_string(),
        );
    let cfg_partial = write_config(dir.path(), "partial.yaml", &bad);
    let (code, _, err) = tubes(&["run", "-q", cfg_partial.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("rows.csv.partial', the file generator 'btc' reads"),
        "{err}"
    );
    assert_eq!(std::fs::read(&partial_input).unwrap(), original);
    // A config whose output is the config itself.
    let own = dir.path().join("own.yaml");
    let bad = text.replace(&out.display().to_string(), &own.display().to_string());
    std::fs::write(&own, &bad).unwrap();
    let (code, _, err) = tubes(&["run", "-q", own.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is this config"), "{err}");
    assert_eq!(std::fs::read_to_string(&own).unwrap(), bad);
}

#[test]
fn run_files_may_not_land_on_outputs_their_partial_files_or_journals() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    let c = cfg.to_str().unwrap();
    let partial = format!("{}.partial", out.display());
    let journal = dir.path().join("j");
    let in_journal = journal.join("meta.json");
    let cases: [&[&str]; 4] = [
        &["--latency-log", &partial],
        &[
            "--journal",
            journal.to_str().unwrap(),
            "--latency-log",
            in_journal.to_str().unwrap(),
        ],
        &["--journal", &partial],
        &["--journal", dir.path().to_str().unwrap()],
    ];
    for args in cases {
        let mut all = vec!["run", "-q", c];
        all.extend_from_slice(args);
        let (code, _, err) = tubes(&all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("choose another"), "{args:?}: {err}");
        assert!(
            !journal.exists() && !out.exists(),
            "{args:?}: nothing was written"
        );
    }
}

#[test]
fn a_link_left_where_a_partial_file_goes_is_replaced_not_written_through() {
    let dir = tempdir();
    let (cfg, _, _, out) = main_job_in(dir.path());
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "kept\n").unwrap();
    let partial = dir.path().join("out.csv.partial");
    for link in ["symbolic", "hard"] {
        let _ = std::fs::remove_file(&partial);
        match link {
            "symbolic" => std::os::unix::fs::symlink(&victim, &partial).unwrap(),
            _ => std::fs::hard_link(&victim, &partial).unwrap(),
        }
        let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
        assert_eq!(code, 0, "{link}: {err}");
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "kept\n",
            "{link}"
        );
        assert!(!std::fs::symlink_metadata(&out)
            .unwrap()
            .file_type()
            .is_symlink());
        super::assert_rows(&out, &main_job_windows());
    }
}

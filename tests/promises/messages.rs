//! Promise 8: every error message has the right place, says what was found in words and helps. (More:
//! the table of bad configs in `tests/config_errors.rs`, bad CSV cells and a BOM in
//! `tests/csv_generator.rs`.)

use super::common::*;
use super::line_of;

#[test]
fn a_duplicate_key_is_reported_where_it_repeats() {
    let dir = tempdir();
    let shipped = std::fs::read_to_string("configs/btc_eth_volume.yaml").unwrap();
    // At the top level, and inside a tube.
    let cases = [
        (
            shipped.replace("tubes:\n", "pipeline_type: Stream\ntubes:\n"),
            "pipeline_type: Stream",
            "pipeline_type",
            line_of(&shipped, "pipeline_type:"),
            "",
        ),
        (
            shipped.replace(
                "    label: eth_counter\n",
                "    label: eth_counter\n    label: eth_again\n",
            ),
            "label: eth_again",
            "label",
            line_of(&shipped, "    label: eth_counter"),
            "tubes[3].Through: ",
        ),
    ];
    for (text, second, key, first_line, path) in cases {
        let cfg = write_config(dir.path(), "dup.yaml", &text);
        let (code, _, err) = tubes(&["check", cfg.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        let line = line_of(&text, second);
        assert!(
            err.contains(&format!(
                "dup.yaml:{line}:{}: {path}the key '{key}' appears twice in one mapping (first at line {first_line})",
                text.lines().nth(line - 1).unwrap().find(key).unwrap() + 1
            )),
            "{err}"
        );
    }
}

#[test]
fn a_config_that_cannot_be_read_is_named_without_a_made_up_line() {
    let dir = tempdir();
    let missing = dir.path().join("missing.yaml");
    let (code, _, err) = tubes(&["check", missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "error: {}: cannot read the config: No such file or directory",
            missing.display()
        )),
        "{err}"
    );
    assert!(!err.contains(":0:0"), "{err}");
}

#[test]
fn a_non_finite_csv_cell_is_named_as_such_and_quoted_short() {
    let dir = tempdir();
    let (cfg, btc, _, _) = super::main_job_in(dir.path());
    let text = std::fs::read_to_string(&btc).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let huge = "9".repeat(1_000_000);
    for (k, cell) in [(1000, "+inf".to_string()), (2000, huge)] {
        let mut l = lines.clone();
        let cut = l[k].rfind(',').unwrap();
        l[k].replace_range(cut + 1.., &cell);
        std::fs::write(&btc, l.join("\n") + "\n").unwrap();
        let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
        assert_eq!(code, 1, "{err:.300}");
        let first = err.lines().next().unwrap();
        assert!(
            first.contains(&format!("btc.csv:{}: column 'Volume': ", k + 1)),
            "{first:.300}"
        );
        assert!(first.len() < 300, "the cell is quoted short: {first:.300}");
        if cell == "+inf" {
            assert!(first.ends_with("'+inf' is not a finite number"), "{first}");
        }
    }
}

#[test]
fn odd_csv_files_are_named_for_what_they_are() {
    let dir = tempdir();
    let (cfg, btc, _, _) = super::main_job_in(dir.path());
    let cfg = cfg.to_str().unwrap();
    let text = std::fs::read_to_string(&btc).unwrap();
    // Two columns named Volume.
    let doubled: String = text
        .lines()
        .map(|l| format!("{l},{}\n", l.rsplit(',').next().unwrap()))
        .collect();
    std::fs::write(&btc, &doubled).unwrap();
    let (code, _, err) = tubes(&["check", cfg]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("has two columns named 'Volume' (columns 8 and 9)"),
        "{err}"
    );
    // Line ends of a lone CR: no line break in the first MiB.
    std::fs::write(&btc, text.replace('\n', "\r")).unwrap();
    let (code, _, err) = tubes(&["check", cfg]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("its first 1024 KiB hold no line break"),
        "{err}"
    );
    // A cell holding a terminal escape sequence is shown escaped, not sent to the terminal.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let cut = lines[500].rfind(',').unwrap();
    lines[500].replace_range(cut + 1.., "\u{1b}[31mred");
    std::fs::write(&btc, lines.join("\n") + "\n").unwrap();
    let (code, _, err) = tubes(&["run", "-q", cfg]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot read '\\u{1b}[31mred' as a number"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn an_impossible_utc_offset_is_not_a_time() {
    let shipped = std::fs::read_to_string("configs/btc_eth_volume.yaml").unwrap();
    let text = shipped.replace("2023-05-01T00:00:00Z", "2023-05-01T00:00:00+25:00");
    let err = tubes::api::load_str(&text, std::path::Path::new("offset.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("offset.yaml:{}:", line_of(&text, "+25:00")))
            && err.contains("cannot read '2023-05-01T00:00:00+25:00' as a time"),
        "{err}"
    );
}

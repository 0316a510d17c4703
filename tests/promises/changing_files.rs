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

//! The mock exchange (`tools/mock-exchange`) as a child process, for `tubes bench --feed` and the tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running mock exchange; killed when dropped.
pub struct MockExchange {
    child: Child,
    /// Where it listens: `ws://127.0.0.1:PORT` or `wss://…`.
    pub url: String,
}

impl MockExchange {
    /// The `mock-exchange` binary built next to the running executable.
    pub fn beside_current_exe() -> Result<PathBuf, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let bin = exe.with_file_name(format!("mock-exchange{}", std::env::consts::EXE_SUFFIX));
        if bin.exists() {
            Ok(bin)
        } else {
            Err(format!(
                "{} is not built; `cargo build --release` builds it beside tubes",
                bin.display()
            ))
        }
    }

    /// Starts `bin` with `args`, its log going to `log`, and waits for its `listening on URL` line.
    pub fn start(bin: &Path, args: &[&str], log: Stdio) -> Result<MockExchange, String> {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut first = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut first);
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_string);
        match (read, url) {
            (Ok(_), Some(url)) => Ok(MockExchange { child, url }),
            _ => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(format!(
                    "{} did not start ({status}); run it by hand with the same arguments to see why: {}",
                    bin.display(),
                    args.join(" ")
                ))
            }
        }
    }
}

impl Drop for MockExchange {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The mock exchange (`tools/mock-exchange`) as a child process, for `tubes bench --feed` and the tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Why the mock exchange could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The running executable's path is unknown.
    #[error("cannot find the running executable: {0}")]
    Exe(std::io::Error),
    /// The binary is not built.
    #[error("{} is not built; `cargo build --release` builds it beside tubes", .0.display())]
    NotBuilt(PathBuf),
    /// The process could not be spawned.
    #[error("cannot start {}: {source}", bin.display())]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It started but never said where it listens.
    #[error("{} did not start ({status}); run it by hand with the same arguments to see why: {args}", bin.display())]
    NoListen {
        /// The binary.
        bin: PathBuf,
        /// How it ended.
        status: String,
        /// Its arguments.
        args: String,
    },
}

/// A running mock exchange; killed when dropped.
pub struct MockExchange {
    child: Child,
    /// Where it listens: `ws://127.0.0.1:PORT` or `wss://…`.
    pub url: String,
}

impl MockExchange {
    /// The `mock-exchange` binary built next to the running executable.
    pub fn beside_current_exe() -> Result<PathBuf, MockError> {
        let exe = std::env::current_exe().map_err(MockError::Exe)?;
        let bin = exe.with_file_name(format!("mock-exchange{}", std::env::consts::EXE_SUFFIX));
        if bin.exists() {
            Ok(bin)
        } else {
            Err(MockError::NotBuilt(bin))
        }
    }

    /// Starts `bin` with `args`, its log going to `log`, and waits for its `listening on URL` line.
    pub fn start(bin: &Path, args: &[&str], log: Stdio) -> Result<MockExchange, MockError> {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|source| MockError::Spawn {
                bin: bin.to_path_buf(),
                source,
            })?;
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
                Err(MockError::NoListen {
                    bin: bin.to_path_buf(),
                    status,
                    args: args.join(" "),
                })
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

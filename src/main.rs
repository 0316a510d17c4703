//! The `tubes` binary: see `tubes --help`.

fn main() {
    std::process::exit(tubes::cli::main());
}

//! `phonghop-pdf-worker pdf analyze-worker FILE`: the isolation child of
//! [`phonghop_pdf::analyze_isolated`] as a standalone binary, so this crate's
//! tests (and tools that do not ship the `phonghop` binary) have one. It takes
//! the same arguments as the hidden `phonghop pdf analyze-worker` subcommand.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prefix: Vec<&str> = phonghop_pdf::WORKER_ARGS.to_vec();
    if args.len() == prefix.len() + 1 && args.iter().zip(&prefix).all(|(a, p)| a == p) {
        phonghop_pdf::run_analyze_worker(Path::new(&args[prefix.len()]))
    } else {
        eprintln!("usage: phonghop-pdf-worker {} FILE", prefix.join(" "));
        ExitCode::from(2)
    }
}

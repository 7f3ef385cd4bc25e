//! `pdf-worker pdf analyze-worker FILE`: the PDF analysis child for the hub
//! the inbox test runs in-process (the hub's default worker is its own
//! executable, which in a test is the test binary).

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prefix = phonghop_pdf::WORKER_ARGS;
    if args.len() == prefix.len() + 1 && args.iter().zip(prefix).all(|(a, p)| a == p) {
        phonghop_pdf::run_analyze_worker(Path::new(&args[prefix.len()]))
    } else {
        eprintln!("usage: pdf-worker {} FILE", prefix.join(" "));
        ExitCode::from(2)
    }
}

//! `phonghop-pdf-worker pdf analyze-worker FILE` and `phonghop-pdf-worker pdf
//! render-worker OPTIONS…`: the children of [`phonghop_pdf::analyze_isolated`]
//! and [`phonghop_pdf::WorkerProcess`] as a standalone binary, so this crate's
//! tests (and tools that do not ship the `phonghop` binary) have one. It takes
//! the same arguments as the hidden `phonghop pdf …-worker` subcommands.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let starts = |prefix: &[&str]| {
        args.len() >= prefix.len() && args.iter().zip(prefix).all(|(a, p)| a == p)
    };
    let analyze = phonghop_pdf::WORKER_ARGS;
    let render = phonghop_pdf::RENDER_WORKER_ARGS;
    if starts(analyze) && args.len() == analyze.len() + 1 {
        phonghop_pdf::run_analyze_worker(Path::new(&args[analyze.len()]))
    } else if starts(render) {
        phonghop_pdf::run_render_worker(&args[render.len()..])
    } else {
        eprintln!(
            "usage: phonghop-pdf-worker {} FILE\n       phonghop-pdf-worker {} [--memory BYTES] [--read PATH]… [--write PATH]…",
            analyze.join(" "),
            render.join(" ")
        );
        ExitCode::from(2)
    }
}

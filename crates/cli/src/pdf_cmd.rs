//! `phonghop pdf …`: judging papers from the command line.
//!
//! `inspect` runs every file through [`phonghop_pdf::analyze_isolated`] (one
//! child process per file, with a time limit), so no file can crash or hang
//! the command; the child is this same binary's hidden `pdf analyze-worker`
//! subcommand. All logic lives in `phonghop-pdf`; this module only prints.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use phonghop_pdf::{analyze_isolated, PdfError};

/// `phonghop pdf …`
#[derive(Debug, Subcommand)]
pub enum PdfCmd {
    /// Check papers: page count, title, signatures, extracted characters, or
    /// why a paper is refused. Each file is read in its own child process.
    Inspect {
        /// PDF files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Seconds allowed per file before it is judged unreadable.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
    /// Internal: analyze one file and print JSON (the isolation child).
    #[command(name = "analyze-worker", hide = true)]
    AnalyzeWorker {
        /// The file.
        file: PathBuf,
    },
}

/// Runs `phonghop pdf …`.
pub fn run(cmd: PdfCmd) -> ExitCode {
    match cmd {
        PdfCmd::AnalyzeWorker { file } => phonghop_pdf::run_analyze_worker(&file),
        PdfCmd::Inspect { files, timeout } => inspect(&files, Duration::from_secs(timeout)),
    }
}

fn inspect(files: &[PathBuf], timeout: Duration) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("phonghop: cannot find my own executable to run the PDF worker: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut ok, mut refused, mut unjudged) = (0usize, 0usize, 0usize);
    for f in files {
        let shown = f.display();
        match analyze_isolated(&exe, f, timeout) {
            Ok(a) => {
                ok += 1;
                let title = a
                    .title()
                    .map_or("(no title)".to_string(), |t| format!("\"{t}\""));
                println!(
                    "ok       {shown}: {} pages, title {title}, {} signature(s), {} chars",
                    a.page_count,
                    a.signatures.len(),
                    a.char_count()
                );
            }
            Err(e @ PdfError::PdfiumMissing { .. }) => {
                unjudged += 1;
                eprintln!("error    {shown}: {e}");
            }
            Err(e) => {
                refused += 1;
                println!("refused  {shown}: [{}] {e}", e.code());
            }
        }
    }
    println!("{ok} ok, {refused} refused");
    if unjudged > 0 {
        eprintln!("{unjudged} file(s) could not be judged");
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

//! `phonghop-fixtures OUT_DIR [--papers DIR] [--large-pages N]`: writes our
//! test PDFs: one per `assets/demo/papers/*.txt` (same stem, `.pdf`), the
//! paper with an outline and links `muc-luc.pdf`, and the big benchmark paper
//! `large-N.pdf`. Generated PDFs are never committed;
//! `scripts/fixtures` runs this.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

fn repo_papers() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|a| a.join("assets/demo/papers"))
        .find(|p| p.is_dir())
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let mut papers: Option<PathBuf> = None;
    let mut large_pages: u32 = 320;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--papers" => papers = args.next().map(PathBuf::from),
            "--large-pages" => {
                large_pages = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--large-pages needs a number")?;
            }
            "-h" | "--help" => {
                println!("usage: phonghop-fixtures OUT_DIR [--papers DIR] [--large-pages N]");
                return Ok(());
            }
            other => out = Some(PathBuf::from(other)),
        }
    }
    let out = out.unwrap_or_else(|| PathBuf::from("target/fixtures"));
    let papers = papers
        .or_else(repo_papers)
        .ok_or("assets/demo/papers not found; pass --papers DIR")?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let font = phonghop_pdf::find_font().map_err(|e| e.to_string())?;

    let mut txts: Vec<PathBuf> = std::fs::read_dir(&papers)
        .map_err(|e| format!("{}: {e}", papers.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    txts.sort();
    for txt in &txts {
        let stem = txt.file_stem().unwrap_or_default();
        let pdf = out.join(Path::new(stem).with_extension("pdf"));
        let pages = phonghop_pdf::render_text_file(txt, &font, &pdf).map_err(|e| e.to_string())?;
        println!("{} ({pages} pages)", pdf.display());
    }
    let nav = out.join("muc-luc.pdf");
    let written = phonghop_pdf::navigation_pdf(&nav).map_err(|e| e.to_string())?;
    println!(
        "{} ({} pages, outline and links)",
        nav.display(),
        written.pages
    );
    if large_pages > 0 {
        let t = Instant::now();
        let pdf = out.join(format!("large-{large_pages}.pdf"));
        phonghop_pdf::generate_large_paper(&font, &pdf, large_pages).map_err(|e| e.to_string())?;
        let size = std::fs::metadata(&pdf).map(|m| m.len()).unwrap_or(0);
        println!(
            "{} ({large_pages} pages, {:.1} MB, {:.1} s)",
            pdf.display(),
            size as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phonghop-fixtures: {e}");
            ExitCode::FAILURE
        }
    }
}

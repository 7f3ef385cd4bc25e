//! Real PDFs for the sync tests: small Vietnamese papers typeset by PDFium
//! (`phonghop_pdf::render_text_pdf`), and a big one made by hand — a valid
//! one-page PDF whose page shows one large uncompressed image — that
//! passes `phonghop_pdf::analyze` like any other paper.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Typesets a small paper (`paragraphs` paragraphs, `salt` makes the text
/// and so the hash unique) into `dir/name.pdf`.
pub fn text_pdf(dir: &Path, name: &str, salt: &str, paragraphs: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let font = phonghop_pdf::find_font()?;
    let title = format!("Tờ trình {name} — {salt}");
    let paras: Vec<String> = (1..=paragraphs)
        .map(|i| {
            format!(
                "Điều {i}. Hội đồng nhân dân tỉnh Sơn Hà xem xét, quyết định nội dung \
                 số {i} của văn bản {name} ({salt}): nghị quyết về kế hoạch đầu tư công \
                 trung hạn, phân bổ ngân sách và các chính sách hỗ trợ người dân."
            )
        })
        .collect();
    let out = dir.join(format!("{name}.pdf"));
    phonghop_pdf::render_text_pdf(&title, &paras, &font, &out)?;
    Ok(out)
}

/// Writes a valid PDF of about `bytes` bytes (one page, one uncompressed
/// noise image): [`phonghop_pdf::noise_image_pdf`].
pub fn big_pdf(path: &Path, bytes: u64, seed: u64) -> Result<()> {
    Ok(phonghop_pdf::noise_image_pdf(path, bytes, seed)?)
}

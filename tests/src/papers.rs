//! Real PDFs for the sync tests: small Vietnamese papers typeset by PDFium
//! (`phonghop_pdf::render_text_pdf`), and a big one made by hand — a valid
//! one-page PDF whose page shows one large uncompressed image — that
//! passes `phonghop_pdf::analyze` like any other paper.

use anyhow::{Context, Result};
use std::io::Write;
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

/// Writes a valid PDF of about `bytes` bytes: one A4 page drawing one
/// 8-bit grey image of pseudo-random noise (uncompressed, so the size is
/// what we ask). `seed` changes every byte of the image.
pub fn big_pdf(path: &Path, bytes: u64, seed: u64) -> Result<()> {
    const WIDTH: u64 = 10_000;
    let height = (bytes / WIDTH).max(1);
    let image_len = WIDTH * height;
    let f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut offsets = Vec::new();
    let mut pos: u64 = 0;
    let put = |w: &mut std::io::BufWriter<std::fs::File>, s: &[u8], pos: &mut u64| -> Result<()> {
        w.write_all(s)?;
        *pos += s.len() as u64;
        Ok(())
    };
    put(&mut w, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", &mut pos)?;
    let content = b"q 500 0 0 700 47 71 cm /Im0 Do Q\n";
    let objects: [String; 4] = [
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
         /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>"
            .into(),
        format!("<< /Length {} >>\nstream\n", content.len()),
    ];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pos);
        put(
            &mut w,
            format!("{} 0 obj\n{body}", i + 1).as_bytes(),
            &mut pos,
        )?;
        if i == 3 {
            put(&mut w, content, &mut pos)?;
            put(&mut w, b"endstream", &mut pos)?;
        }
        put(&mut w, b"\nendobj\n", &mut pos)?;
    }
    offsets.push(pos);
    put(
        &mut w,
        format!(
            "5 0 obj\n<< /Type /XObject /Subtype /Image /Width {WIDTH} /Height {height} \
             /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {image_len} >>\nstream\n"
        )
        .as_bytes(),
        &mut pos,
    )?;
    // Odd (xorshift needs a non-zero state) and distinct for distinct seeds.
    let mut x = (seed << 1) | 1;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut left = image_len;
    while left > 0 {
        buf.clear();
        let n = left.min(1 << 20);
        while (buf.len() as u64) < n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf.extend_from_slice(&x.to_le_bytes());
        }
        buf.truncate(n as usize);
        put(&mut w, &buf, &mut pos)?;
        left -= n;
    }
    put(&mut w, b"\nendstream\nendobj\n", &mut pos)?;
    let xref = pos;
    let mut tail = String::from("xref\n0 6\n0000000000 65535 f \n");
    for o in &offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ));
    put(&mut w, tail.as_bytes(), &mut pos)?;
    w.flush()?;
    w.get_ref().sync_all()?;
    Ok(())
}

//! Vietnamese text folding for search: "Nghị quyết", "nghi quyet" and
//! "NGHI QUYET" all fold to "nghi quyet". Tone and vowel marks are removed
//! (canonical decomposition, then combining marks dropped), đ/Đ become d, and
//! the result is lowercased. Character count can change (decomposition), so
//! callers that need offsets fold char by char with [`fold_char`].

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Folds one character; returns the folded characters (possibly none, for a
/// lone combining mark).
pub fn fold_char(c: char, out: &mut String) {
    match c {
        'đ' | 'Đ' => out.push('d'),
        c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
        c => decompose_canonical(c, |d| {
            if !is_combining_mark(d) {
                out.extend(d.to_lowercase());
            }
        }),
    }
}

/// Folds a whole string (see module docs).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// A paper's title as a file name stem on every system the app runs on:
/// Vietnamese letters kept; "/" and "\\" (document numbers: "45/TTr-UBND")
/// become "-"; characters Windows forbids (`:*?"<>|`) and control
/// characters are dropped; spaces run together; at most `max` characters,
/// with no trailing dot or space (Windows refuses those). Never empty.
pub fn file_stem(title: &str, max: usize) -> String {
    let mut out = String::with_capacity(title.len());
    for c in title.chars() {
        let c = match c {
            '/' | '\\' => '-',
            ':' | '*' | '?' | '"' | '<' | '>' | '|' => continue,
            c if c.is_control() => continue,
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let mut stem: String = out.chars().take(max).collect();
    while stem.ends_with(['.', ' ']) {
        stem.pop();
    }
    if stem.is_empty() {
        "tai-lieu".into()
    } else {
        stem
    }
}

/// The words a body uses for its sittings and its members: a People's
/// Council (HĐND) holds "kỳ họp" of "đại biểu", a People's Committee
/// (UBND) "phiên họp" of "thành viên"; any other body "cuộc họp" of
/// "thành viên". Read from the body's name, as the interface does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyWords {
    /// "kỳ họp", "phiên họp", "cuộc họp".
    pub session: &'static str,
    /// "đại biểu", "thành viên".
    pub member: &'static str,
}

impl BodyWords {
    /// The words of the body named `body` ("HĐND tỉnh Sơn Hà", "Ủy ban
    /// nhân dân huyện …").
    pub fn of(body: &str) -> BodyWords {
        let f = fold(body);
        let has_word = |w: &str| f.split(|c: char| !c.is_alphanumeric()).any(|x| x == w);
        if has_word("hdnd") || f.contains("hoi dong nhan dan") {
            BodyWords {
                session: "kỳ họp",
                member: "đại biểu",
            }
        } else if has_word("ubnd") || f.contains("uy ban nhan dan") {
            BodyWords {
                session: "phiên họp",
                member: "thành viên",
            }
        } else {
            BodyWords {
                session: "cuộc họp",
                member: "thành viên",
            }
        }
    }
}

/// "kỳ họp" → "Kỳ họp".
pub fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A paper's title read from the top of its first page, for a PDF whose
/// metadata has none: `lines` are the page's first lines with their glyph
/// height, in reading order.
///
/// The heading is the line set in the largest type, skipping what heads
/// every Vietnamese administrative document and names nothing (the
/// national motto, "Số: 45/TTr-UBND", the place and date). A short
/// document kind in capitals ("TỜ TRÌNH", "NGHỊ QUYẾT") takes the line
/// after it, its subject: "Tờ trình về việc phân bổ vốn đầu tư công".
/// At most `max` characters, cut at a word. None when nothing fits.
pub fn heading_title(lines: &[(String, f32)], max: usize) -> Option<String> {
    let skip = |t: &str| {
        let f = fold(t);
        let f = f.trim();
        f.starts_with("cong hoa xa hoi chu nghia")
            || f.starts_with("doc lap")
            || f.starts_with("so:")
            || f.starts_with("so ") && f.contains('/')
            || (f.contains("ngay") && f.contains("thang") && f.contains("nam") && f.len() < 60)
            || f.chars().filter(|c| c.is_alphabetic()).count() < 3
    };
    let cands: Vec<(usize, &str, f32)> = lines
        .iter()
        .enumerate()
        .map(|(i, (t, h))| (i, t.trim(), *h))
        .filter(|(_, t, _)| !t.is_empty() && !skip(t))
        .collect();
    let tallest = cands.iter().map(|c| c.2).fold(0.0_f32, f32::max);
    // Same size everywhere: the first line that names something.
    let (pos, text, height) = *cands
        .iter()
        .find(|c| c.2 >= tallest * 0.95)
        .or_else(|| cands.first())?;
    let is_caps =
        |t: &str| t.chars().any(char::is_alphabetic) && !t.chars().any(char::is_lowercase);
    let mut title = if is_caps(text) {
        sentence_case(text)
    } else {
        text.to_string()
    };
    let kind_only = is_caps(text) && text.split_whitespace().count() <= 3;
    if kind_only {
        if let Some(next) = cands.iter().find(|c| c.0 > pos && c.2 >= height * 0.6) {
            let subject = if is_caps(next.1) {
                next.1.to_lowercase()
            } else {
                lower_first(next.1)
            };
            title = format!("{title} {subject}");
        }
    }
    let mut out = String::new();
    for w in title.split_whitespace() {
        if out.chars().count() + w.chars().count() + 1 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    (!out.is_empty()).then_some(out)
}

/// "TỜ TRÌNH" → "Tờ trình".
fn sentence_case(t: &str) -> String {
    capitalized(&t.to_lowercase())
}

/// "Về việc …" → "về việc …" (a subject after its document kind).
fn lower_first(t: &str) -> String {
    let mut c = t.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{capitalized, file_stem, fold, heading_title, BodyWords};

    #[test]
    fn file_stems_keep_document_numbers_readable() {
        assert_eq!(
            file_stem("Tờ trình số 45/TTr-UBND về dự thảo Nghị quyết", 80),
            "Tờ trình số 45-TTr-UBND về dự thảo Nghị quyết"
        );
        assert_eq!(file_stem("Báo cáo: \"Quý IV\"?  ", 80), "Báo cáo Quý IV");
        assert_eq!(file_stem("abc def.", 5), "abc d");
        assert_eq!(file_stem("Kết luận...", 80), "Kết luận");
        assert_eq!(file_stem("///", 80), "---");
        assert_eq!(file_stem("?*", 80), "tai-lieu");
    }

    #[test]
    fn vietnamese_folding() {
        assert_eq!(fold("Nghị quyết"), "nghi quyet");
        assert_eq!(fold("NGHỊ QUYẾT"), "nghi quyet");
        assert_eq!(fold("nghi quyet"), "nghi quyet");
        assert_eq!(fold("Đại biểu Hội đồng"), "dai bieu hoi dong");
        assert_eq!(fold("ắ ằ ẳ ẵ ặ ơ ư"), "a a a a a o u");
        // Decomposed input (NFD) folds the same as precomposed (NFC).
        assert_eq!(fold("Nghi\u{0323} quye\u{0302}\u{0301}t"), "nghi quyet");
    }

    #[test]
    fn a_heading_names_the_paper_past_the_motto_and_the_number() {
        let l = |t: &str, h: f32| (t.to_string(), h);
        let to_trinh = [
            l("ỦY BAN NHÂN DÂN", 12.0),
            l("TỈNH SƠN HÀ", 12.0),
            l("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12.0),
            l("Độc lập - Tự do - Hạnh phúc", 12.0),
            l("Số: 45/TTr-UBND", 12.0),
            l("Sơn Hà, ngày 20 tháng 11 năm 2026", 12.0),
            l("TỜ TRÌNH", 15.0),
            l("Về việc phân bổ kế hoạch đầu tư công năm 2026", 13.0),
            l("Kính gửi: Hội đồng nhân dân tỉnh", 12.0),
        ];
        assert_eq!(
            heading_title(&to_trinh, 120).as_deref(),
            Some("Tờ trình về việc phân bổ kế hoạch đầu tư công năm 2026")
        );
        // One size throughout: the first line that names something.
        let plain = [
            l("Số: 12/BC-UBND", 11.0),
            l("Báo cáo tình hình kinh tế – xã hội", 11.0),
        ];
        assert_eq!(
            heading_title(&plain, 120).as_deref(),
            Some("Báo cáo tình hình kinh tế – xã hội")
        );
        // Cut at a word.
        let long = [l("Nghị quyết về việc phân bổ kế hoạch đầu tư công", 14.0)];
        assert_eq!(
            heading_title(&long, 24).as_deref(),
            Some("Nghị quyết về việc phân")
        );
        assert_eq!(heading_title(&[l("  ", 12.0), l("12", 12.0)], 120), None);
    }

    #[test]
    fn a_council_holds_sessions_of_delegates_a_committee_meetings_of_members() {
        assert_eq!(BodyWords::of("HĐND tỉnh Sơn Hà khóa XI").session, "kỳ họp");
        assert_eq!(
            BodyWords::of("Hội đồng nhân dân huyện Yên Lạc").member,
            "đại biểu"
        );
        assert_eq!(BodyWords::of("UBND tỉnh Sơn Hà").session, "phiên họp");
        assert_eq!(
            BodyWords::of("Ủy ban nhân dân thành phố").member,
            "thành viên"
        );
        assert_eq!(BodyWords::of("Ban chỉ đạo").session, "cuộc họp");
        assert_eq!(capitalized("kỳ họp"), "Kỳ họp");
    }
}

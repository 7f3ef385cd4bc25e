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

#[cfg(test)]
mod tests {
    use super::{file_stem, fold};

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
}

//! Full-text search over page texts (SQLite FTS5), Vietnamese-folded:
//! "nghi quyet", "nghị quyết" and "NGHI QUYET" all find "Nghị quyết".
//!
//! Each page is indexed with its text folded one character for one
//! character, so a match's character offsets in the folded text are the
//! offsets in the original text, and therefore index the page's character
//! boxes (from import analysis) for highlighting.

use phonghop_core::text::fold_char;
use phonghop_core::{DocumentId, MeetingId};
use rusqlite::{params, Connection};

/// One hit: a page of a paper version, a snippet, and the char ranges to
/// highlight on that page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// Meeting.
    pub meeting: MeetingId,
    /// Paper.
    pub document: DocumentId,
    /// Version.
    pub version: u32,
    /// Page index, 0-based.
    pub page: u32,
    /// Text around the first match, the match wrapped in « ».
    pub snippet: String,
    /// Character ranges `[start, end)` of every match on the page.
    pub ranges: Vec<(usize, usize)>,
}

/// Folds `s` keeping one char per source char (see module docs).
pub fn fold_aligned(s: &str) -> Vec<char> {
    let mut buf = String::new();
    s.chars()
        .map(|c| {
            buf.clear();
            fold_char(c, &mut buf);
            buf.chars().next().unwrap_or(c)
        })
        .collect()
}

/// Replaces the index of one paper version with these page texts.
pub fn index_pages(
    conn: &Connection,
    meeting: &MeetingId,
    document: &DocumentId,
    version: u32,
    pages: &[&str],
) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM page_text WHERE meeting = ?1 AND document = ?2 AND version = ?3",
        params![meeting.as_str(), document.as_str(), version],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO page_text (folded, meeting, document, version, page, original) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (i, text) in pages.iter().enumerate() {
        let folded: String = fold_aligned(text).into_iter().collect();
        stmt.execute(params![
            folded,
            meeting.as_str(),
            document.as_str(),
            version,
            i as i64,
            text
        ])?;
    }
    Ok(())
}

/// Whether a paper version is indexed.
pub fn is_indexed(
    conn: &Connection,
    meeting: &MeetingId,
    document: &DocumentId,
    version: u32,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM page_text WHERE meeting = ?1 AND document = ?2 AND version = ?3)",
        params![meeting.as_str(), document.as_str(), version],
        |r| r.get(0),
    )
}

/// Removes a meeting from the index.
pub fn drop_meeting(conn: &Connection, meeting: &MeetingId) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM page_text WHERE meeting = ?1",
        params![meeting.as_str()],
    )?;
    Ok(())
}

/// Searches all indexed pages (of one meeting, or all), best first, at most
/// `limit` hits. An empty query finds nothing.
pub fn search(
    conn: &Connection,
    query: &str,
    meeting: Option<&MeetingId>,
    limit: usize,
) -> rusqlite::Result<Vec<SearchHit>> {
    let folded: String = fold_aligned(query.trim()).into_iter().collect();
    let tokens: Vec<String> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    // First the words as a phrase (in order, adjacent); if that finds
    // nothing, every word anywhere on the page. Tokens are quoted so FTS
    // syntax characters in a query are taken literally.
    let phrase_expr = format!("\"{}\"", tokens.join(" "));
    let hits = run(conn, &phrase_expr, &tokens, meeting, limit)?;
    if !hits.is_empty() || tokens.len() == 1 {
        return Ok(hits);
    }
    let all_expr = tokens
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(" ");
    run(conn, &all_expr, &tokens, meeting, limit)
}

fn run(
    conn: &Connection,
    expr: &str,
    tokens: &[String],
    meeting: Option<&MeetingId>,
    limit: usize,
) -> rusqlite::Result<Vec<SearchHit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT meeting, document, version, page, folded, original FROM page_text
         WHERE page_text MATCH ?1 AND (?2 IS NULL OR meeting = ?2)
         ORDER BY rank LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![expr, meeting.map(|m| m.as_str()), limit as i64],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        },
    )?;
    let phrase = tokens.join(" ");
    let mut hits = Vec::new();
    for row in rows {
        let (m, d, version, page, folded, original) = row?;
        let f: Vec<char> = folded.chars().collect();
        let mut ranges = find_all(&f, &phrase.chars().collect::<Vec<_>>());
        if ranges.is_empty() {
            for t in tokens {
                ranges.extend(find_all(&f, &t.chars().collect::<Vec<_>>()));
            }
            ranges.sort_unstable();
        }
        let snippet = snippet(
            &original.chars().collect::<Vec<_>>(),
            ranges.first().copied(),
        );
        hits.push(SearchHit {
            meeting: MeetingId::new(m),
            document: DocumentId::new(d),
            version,
            page,
            snippet,
            ranges,
        });
    }
    Ok(hits)
}

/// Whole-word-start occurrences of `needle` in `hay` (char offsets).
fn find_all(hay: &[char], needle: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if needle.is_empty() || needle.len() > hay.len() {
        return out;
    }
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let starts_word = i == 0 || !hay[i - 1].is_alphanumeric();
        if starts_word && hay[i..i + needle.len()] == *needle {
            out.push((i, i + needle.len()));
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

fn snippet(text: &[char], hit: Option<(usize, usize)>) -> String {
    const AROUND: usize = 40;
    let clean = |s: &[char]| -> String {
        s.iter()
            .map(|c| if c.is_whitespace() { ' ' } else { *c })
            .collect()
    };
    let Some((a, b)) = hit else {
        return clean(&text[..text.len().min(2 * AROUND)]);
    };
    // Cut at word boundaries: never half a word at either end.
    let mut start = a.saturating_sub(AROUND);
    if start > 0 && !text[start - 1].is_whitespace() {
        while start < a && !text[start].is_whitespace() {
            start += 1;
        }
    }
    while start < a && text[start].is_whitespace() {
        start += 1;
    }
    let mut end = (b + AROUND).min(text.len());
    if end < text.len() && !text[end].is_whitespace() {
        while end > b && !text[end - 1].is_whitespace() {
            end -= 1;
        }
    }
    while end > b && text[end - 1].is_whitespace() {
        end -= 1;
    }
    let mut s = String::new();
    if start > 0 {
        s.push('…');
    }
    s.push_str(&clean(&text[start..a]));
    s.push('«');
    s.push_str(&clean(&text[a..b]));
    s.push('»');
    s.push_str(&clean(&text[b..end]));
    if end < text.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("s.db")).unwrap();
        let path = store.path().to_path_buf();
        drop(store);
        let conn = Connection::open(&path).unwrap();
        std::mem::forget(dir);
        conn
    }

    #[test]
    fn vietnamese_queries_with_or_without_marks_find_the_same_pages() {
        let conn = db();
        let m = MeetingId::new("kh12");
        let pages = [
            "Tờ trình về dự thảo Nghị quyết phân bổ vốn đầu tư công.",
            "Hội đồng nhân dân tỉnh xem xét, quyết nghị.",
            "Điều 1. Thông qua nghị quyết; ĐẦU TƯ CÔNG năm 2026.",
        ];
        index_pages(&conn, &m, &DocumentId::new("d1"), 1, &pages).unwrap();
        for q in ["nghi quyet", "nghị quyết", "NGHI QUYET", "Nghị Quyết"] {
            let hits = search(&conn, q, Some(&m), 10).unwrap();
            let mut found: Vec<u32> = hits.iter().map(|h| h.page).collect();
            found.sort_unstable();
            assert_eq!(found, vec![0, 2], "query {q:?}");
        }
        let hits = search(&conn, "nghi quyet", None, 10).unwrap();
        let p0 = hits.iter().find(|h| h.page == 0).unwrap();
        assert!(p0.snippet.contains("«Nghị quyết»"), "{}", p0.snippet);
        let chars: Vec<char> = pages[0].chars().collect();
        let (a, b) = p0.ranges[0];
        assert_eq!(
            chars[a..b].iter().collect::<String>(),
            "Nghị quyết",
            "ranges index the original chars"
        );
        assert_eq!(search(&conn, "dau tu cong", Some(&m), 10).unwrap().len(), 2);
        assert_eq!(
            search(&conn, "Đầu tư", Some(&MeetingId::new("other")), 10)
                .unwrap()
                .len(),
            0
        );
        assert!(
            search(&conn, "  \"*( ", None, 10).unwrap().is_empty(),
            "syntax characters alone find nothing"
        );
    }

    #[test]
    fn snippets_cut_at_word_boundaries_and_every_match_on_a_page_is_found() {
        let conn = db();
        let m = MeetingId::new("kh12");
        // Words near the match grow by one character a page, so that a cut
        // a fixed distance from the match lands inside a word on some page.
        let pages: Vec<String> = (0..12)
            .map(|k| {
                format!(
                    "Căn cứ Luật Tổ chức chính quyền địa phương; xét Tờ trình số \
                     45/TTr-UBND {w} về phân bổ vốn đầu tư {w} công trung hạn giai \
                     đoạn 2026-2030 của tỉnh; vốn đầu tư công năm 2026 được phân bổ \
                     cho các dự án trọng điểm của tỉnh.",
                    w = "Đ".repeat(k + 1)
                )
            })
            .collect();
        let refs: Vec<&str> = pages.iter().map(String::as_str).collect();
        index_pages(&conn, &m, &DocumentId::new("d1"), 1, &refs).unwrap();
        let hits = search(&conn, "von dau tu", Some(&m), 20).unwrap();
        assert_eq!(hits.len(), pages.len());
        for h in hits {
            assert_eq!(h.ranges.len(), 2, "both matches on page {}", h.page);
            let page = &pages[h.page as usize];
            let words: Vec<&str> = page.split_whitespace().collect();
            let snippet = h.snippet.replace(['«', '»'], "");
            let inner = snippet.trim_start_matches('…').trim_end_matches('…');
            let first = inner.split_whitespace().next().unwrap();
            let last = inner.split_whitespace().last().unwrap();
            assert!(words.contains(&first), "starts mid-word: {snippet:?}");
            assert!(words.contains(&last), "ends mid-word: {snippet:?}");
        }
    }
}

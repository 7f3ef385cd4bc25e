//! Our Vietnamese demo papers survive the round trip: typeset with PDFium,
//! extracted with PDFium, the text equals the source (diacritics intact,
//! whitespace normalized).

mod common;

use phonghop_pdf::{analyze, PaperText};

const PAPERS: [&str; 3] = [
    "to-trinh-45",
    "nghi-quyet-du-thao",
    "bao-cao-kinh-te-xa-hoi",
];

#[test]
fn extracted_text_matches_the_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    for stem in PAPERS {
        let src = std::fs::read_to_string(common::papers_dir().join(format!("{stem}.txt")))
            .expect("paper text");
        let paper = PaperText::parse(&src);
        let pdf = common::render_paper(stem, dir.path());
        let a = analyze(&pdf).expect("our own paper must analyze");
        let got: String = a
            .pages
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let want = format!("{} {}", paper.title, paper.paragraphs.join(" "));
        let (got, want) = (common::squash(&got), common::squash(&want));
        if got != want {
            let at = got
                .chars()
                .zip(want.chars())
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(want.len()));
            let ctx = |s: &str| {
                s.chars()
                    .skip(at.saturating_sub(20))
                    .take(60)
                    .collect::<String>()
            };
            panic!(
                "{stem}: extracted text differs at char {at}:\n got: …{}…\nwant: …{}…",
                ctx(&got),
                ctx(&want)
            );
        }
        assert!(a.page_count >= 1);
        assert!((a.pages[0].width - 595.0).abs() < 1.0, "A4 width");
        println!("{stem}: {} pages, {} chars", a.page_count, a.char_count());
    }
}

#[test]
fn the_papers_are_the_agreed_set_and_nfc() {
    let mut names: Vec<String> = std::fs::read_dir(common::papers_dir())
        .expect("papers dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bao-cao-kinh-te-xa-hoi.txt",
            "nghi-quyet-du-thao.txt",
            "to-trinh-45.txt"
        ]
    );
    let nq =
        std::fs::read_to_string(common::papers_dir().join("nghi-quyet-du-thao.txt")).expect("read");
    assert!(
        nq.contains("Nghị quyết") && nq.contains("nghị quyết"),
        "search demo needs both cases"
    );
    for n in names {
        let s = std::fs::read_to_string(common::papers_dir().join(&n)).expect("utf-8");
        // NFC: no combining marks left (Vietnamese has precomposed forms for all).
        assert!(
            !s.chars().any(|c| ('\u{0300}'..='\u{036F}').contains(&c)),
            "{n} must be NFC (found a combining mark)"
        );
    }
}

#[test]
fn char_boxes_locate_words_on_the_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = common::render_paper("nghi-quyet-du-thao", dir.path());
    let a = analyze(&pdf).expect("analyze");
    let p = &a.pages[0];
    let chars: Vec<char> = p.text.chars().collect();
    let needle: Vec<char> = "Nghị quyết".chars().collect();
    let at = chars
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("title contains Nghị quyết");
    let b = p.boxes[at];
    // The title is the first line: near the top of an A4 page, inside margins.
    assert!(b[3] > 700.0 && b[3] < 842.0, "title near the top: {b:?}");
    assert!(b[0] >= 60.0 && b[2] <= 540.0, "inside margins: {b:?}");
    assert!(b[2] > b[0] && b[3] > b[1], "non-empty box: {b:?}");
}

/// The outline and the internal links of our navigation paper come back
/// from import analysis as written: titles (UTF-16, Vietnamese), levels,
/// target pages, link rectangles.
#[test]
fn navigation_paper_outline_and_links_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("muc-luc.pdf");
    let want = phonghop_pdf::navigation_pdf(&path).expect("write the navigation paper");
    let a = phonghop_pdf::analyze_isolated(
        &common::worker_exe(),
        &path,
        std::time::Duration::from_secs(60),
    )
    .expect("it imports");
    assert_eq!(a.page_count, want.pages);
    let outline: Vec<(String, u32, u32)> = a
        .outline
        .iter()
        .map(|e| {
            (
                e.title.clone(),
                e.depth,
                e.page.expect("every entry has a page"),
            )
        })
        .collect();
    assert_eq!(outline, want.outline);
    let mut links = Vec::new();
    for (p, page) in a.pages.iter().enumerate() {
        for l in &page.links {
            match l.target {
                phonghop_pdf::LinkTarget::Page { page: to } => links.push((p as u32, l.rect, to)),
                ref other => panic!("only internal links were written, got {other:?}"),
            }
        }
    }
    assert_eq!(links, want.links);
}

//! A list of people from the secretariat's spreadsheet: XLSX, XLS or ODS
//! (calamine) or CSV (csv), first sheet, first row naming the columns.
//!
//! Columns are recognised by their headings, in Vietnamese or English,
//! with or without diacritics: "Họ và tên" / "Họ tên" / "Name" (required),
//! "Chức vụ" / "Title", "Đơn vị" / "Unit", "Mã" / "Code" (the person's id).
//! Every row is checked before anything is written: a row with a problem
//! is named (its line, as the spreadsheet numbers it) with a stable code
//! the screen words, and left out; the others are added together.

use crate::HubError;
use phonghop_core::reducer::Directory;
use phonghop_core::text::fold;
use phonghop_core::validate_id;
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;

/// At most this many rows are read (a council has hundreds, not more).
pub const MAX_ROWS: usize = 5_000;

/// One person read from the sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SheetPerson {
    /// The row as the spreadsheet numbers it (the heading is row 1).
    pub line: usize,
    /// Full name.
    pub name: String,
    /// Title, if any.
    pub title: Option<String>,
    /// Constituency or unit, if any.
    pub unit: Option<String>,
    /// Id to use, if given.
    pub code: Option<String>,
}

/// A row left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowProblem {
    /// The row as the spreadsheet numbers it.
    pub line: usize,
    /// `no_name`, `bad_code`, `duplicate_code` or `duplicate_name`.
    pub problem: &'static str,
    /// The value at fault (the name, or the code).
    pub value: String,
}

/// What a file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeopleSheet {
    /// Rows that can be added.
    pub people: Vec<SheetPerson>,
    /// Rows left out.
    pub problems: Vec<RowProblem>,
}

/// Reads `path` and checks every row against itself and `directory`.
pub fn read_people(path: &Path, directory: &Directory) -> Result<PeopleSheet, HubError> {
    let bad = |reason: String| HubError::BadSheet {
        path: path.to_path_buf(),
        reason,
    };
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let table: Vec<Vec<String>> = match ext.as_str() {
        "csv" | "txt" => read_csv(path).map_err(bad)?,
        "xlsx" | "xlsm" | "xls" | "ods" => read_workbook(path).map_err(bad)?,
        _ => {
            return Err(bad(
                "not a spreadsheet: choose an .xlsx, .xls, .ods or .csv file".into(),
            ))
        }
    };
    check(&table, directory).map_err(bad)
}

fn read_csv(path: &Path) -> Result<Vec<Vec<String>>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    // A spreadsheet's "CSV UTF-8" starts with a byte order mark.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = std::str::from_utf8(text)
        .map_err(|_| "the file is not UTF-8 text: save it as \"CSV UTF-8\"".to_string())?;
    // Comma or semicolon, whichever the heading uses (Excel in a Vietnamese
    // locale writes semicolons).
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        if i > MAX_ROWS {
            return Err(format!("more than {MAX_ROWS} rows"));
        }
        let rec = rec.map_err(|e| format!("row {}: {e}", i + 1))?;
        out.push(rec.iter().map(str::to_string).collect());
    }
    Ok(out)
}

fn read_workbook(path: &Path) -> Result<Vec<Vec<String>>, String> {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(path).map_err(|e| e.to_string())?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| "the workbook has no sheet".to_string())?
        .map_err(|e| e.to_string())?;
    if range.height() > MAX_ROWS + 1 {
        return Err(format!("more than {MAX_ROWS} rows"));
    }
    // Rows as the sheet numbers them: the range may start below row 1.
    let top = range.start().map_or(0, |(r, _)| r as usize);
    let mut out = vec![Vec::new(); top];
    out.extend(
        range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
    );
    Ok(out)
}

/// Which column holds what.
#[derive(Debug, Default)]
struct Columns {
    name: Option<usize>,
    title: Option<usize>,
    unit: Option<usize>,
    code: Option<usize>,
}

fn columns(heading: &[String]) -> Columns {
    let mut c = Columns::default();
    for (i, h) in heading.iter().enumerate() {
        let f = fold(h.trim());
        let is = |words: &[&str]| {
            words
                .iter()
                .any(|w| f == *w || f.starts_with(&format!("{w} ")))
        };
        if c.name.is_none() && is(&["ho va ten", "ho ten", "ten", "name", "full name"]) {
            c.name = Some(i);
        } else if c.title.is_none() && is(&["chuc vu", "chuc danh", "title"]) {
            c.title = Some(i);
        } else if c.unit.is_none() && is(&["don vi", "don vi bau cu", "unit", "constituency"]) {
            c.unit = Some(i);
        } else if c.code.is_none() && is(&["ma", "ma so", "code", "id"]) {
            c.code = Some(i);
        }
    }
    c
}

fn check(table: &[Vec<String>], directory: &Directory) -> Result<PeopleSheet, String> {
    let Some((head_at, heading)) = table
        .iter()
        .enumerate()
        .find(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
    else {
        return Err("the file is empty".into());
    };
    let cols = columns(heading);
    let Some(name_col) = cols.name else {
        return Err(
            "the first row must name the columns: Họ và tên (required), Chức vụ, Đơn vị, Mã".into(),
        );
    };
    let cell = |row: &[String], col: Option<usize>| {
        col.and_then(|c| row.get(c))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut sheet = PeopleSheet::default();
    let mut codes: HashSet<String> = directory.persons.keys().map(|p| p.to_string()).collect();
    let mut names: HashSet<String> = directory
        .persons
        .values()
        .map(|p| fold(p.name.trim()))
        .collect();
    for (i, row) in table.iter().enumerate().skip(head_at + 1) {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let line = i + 1;
        let name = cell(row, Some(name_col)).unwrap_or_default();
        let code = cell(row, cols.code);
        let problem = |problem, value: &str| RowProblem {
            line,
            problem,
            value: value.to_string(),
        };
        if name.is_empty() {
            sheet
                .problems
                .push(problem("no_name", code.as_deref().unwrap_or("")));
            continue;
        }
        if let Some(c) = &code {
            if !validate_id(c) {
                sheet.problems.push(problem("bad_code", c));
                continue;
            }
            if codes.contains(c) {
                sheet.problems.push(problem("duplicate_code", c));
                continue;
            }
        }
        if !names.insert(fold(&name)) {
            sheet.problems.push(problem("duplicate_name", &name));
            continue;
        }
        if let Some(c) = &code {
            codes.insert(c.clone());
        }
        sheet.people.push(SheetPerson {
            line,
            name,
            title: cell(row, cols.title),
            unit: cell(row, cols.unit),
            code,
        });
    }
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn rows_with_problems_are_named_and_left_out() {
        let table = t(&[
            &["STT", "Họ và tên", "Chức vụ", "Đơn vị bầu cử", "Mã"],
            &["1", "Nguyễn Văn An", "Chủ tịch", "Thôn Đông", "an"],
            &["2", "", "Đại biểu", "Thôn Tây", ""],
            &["3", "Trần Thị Bình", "", "", "bad code!"],
            &["", "", "", "", ""],
            &["4", "nguyen van an", "", "", ""],
            &["5", "Lê Văn Cường", "", "", "an"],
            &["6", "Phạm Thị Dung", "Đại biểu", "", ""],
        ]);
        let s = check(&table, &Directory::default()).unwrap();
        let names: Vec<_> = s.people.iter().map(|p| (p.line, p.name.as_str())).collect();
        assert_eq!(names, [(2, "Nguyễn Văn An"), (8, "Phạm Thị Dung")]);
        assert_eq!(s.people[0].code.as_deref(), Some("an"));
        assert_eq!(s.people[0].unit.as_deref(), Some("Thôn Đông"));
        let problems: Vec<_> = s.problems.iter().map(|p| (p.line, p.problem)).collect();
        assert_eq!(
            problems,
            [
                (3, "no_name"),
                (4, "bad_code"),
                (6, "duplicate_name"),
                (7, "duplicate_code")
            ]
        );
    }

    #[test]
    fn a_sheet_without_a_name_column_is_refused_with_the_columns_to_use() {
        let err = check(&t(&[&["A", "B"], &["x", "y"]]), &Directory::default()).unwrap_err();
        assert!(err.contains("Họ và tên"), "{err}");
        let english = check(
            &t(&[&["Name", "Title"], &["Jane Doe", "Delegate"]]),
            &Directory::default(),
        )
        .unwrap();
        assert_eq!(english.people.len(), 1);
    }
}

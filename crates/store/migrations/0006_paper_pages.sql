-- 0006: a paper's pages as rows, on the device (paper_pages; page_text
-- is the search index of 0002).
--
-- The reader asks one page's text and character boxes at a time, and the
-- page sizes and outline once per paper. Parsed from the analysis blob on
-- every open, a 320-page paper's analysis (30 MB of JSON, 14 MB parsed)
-- stayed in the app's memory; as rows, one page is one indexed read.
-- Written once per analysis blob (the blob's hash is the key); the outline
-- row is written last, so its presence means every page row is there.
-- Deleted with the rest on a wipe.
CREATE TABLE paper_pages (
    analysis TEXT NOT NULL,
    page INTEGER NOT NULL,
    width REAL NOT NULL,
    height REAL NOT NULL,
    text TEXT NOT NULL,
    -- Four little-endian f32 per char of `text`: left, bottom, right, top.
    boxes BLOB NOT NULL,
    -- JSON array of links.
    links TEXT NOT NULL,
    PRIMARY KEY (analysis, page)
) WITHOUT ROWID;

CREATE TABLE paper_outline (
    analysis TEXT PRIMARY KEY,
    -- JSON array of outline entries, depth first.
    outline TEXT NOT NULL
) WITHOUT ROWID;

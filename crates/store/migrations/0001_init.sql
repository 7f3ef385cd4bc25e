-- 0001: event logs, projections of the core reducer, key/value meta.
-- Migrations are append-only: never edit a shipped file, add a new one.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every log (directory, meeting, personal) in one table, keyed by log key.
-- payload is NULL for an entry redacted for this reader.
CREATE TABLE log_entries (
    log          TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    prev_hash    BLOB    NOT NULL,
    payload_hash BLOB    NOT NULL,
    hash         BLOB    NOT NULL,
    signature    BLOB    NOT NULL,
    payload      TEXT,
    PRIMARY KEY (log, seq)
) WITHOUT ROWID;

-- Projections. Written only from core's reducer state (see project.rs).
CREATE TABLE bodies (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE persons (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    title TEXT,
    unit  TEXT
);

CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    person     TEXT NOT NULL REFERENCES persons(id),
    public_key TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL,
    paired_at  INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE meetings (
    id           TEXT PRIMARY KEY,
    body         TEXT NOT NULL,
    title        TEXT NOT NULL,
    starts_at    INTEGER,
    place        TEXT,
    status       TEXT NOT NULL,
    current_item TEXT
);

CREATE TABLE members (
    meeting TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    person  TEXT NOT NULL,
    name    TEXT NOT NULL,
    title   TEXT,
    role    TEXT NOT NULL,
    PRIMARY KEY (meeting, person)
);

CREATE TABLE agenda_items (
    meeting         TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    parent          TEXT,
    number          TEXT NOT NULL,
    depth           INTEGER NOT NULL,
    ord             INTEGER NOT NULL,
    title           TEXT NOT NULL,
    presenter       TEXT,
    planned_minutes INTEGER,
    PRIMARY KEY (meeting, id)
);

CREATE TABLE documents (
    meeting         TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    item            TEXT,
    title           TEXT NOT NULL,
    confidentiality TEXT NOT NULL,
    PRIMARY KEY (meeting, id)
);

CREATE TABLE document_versions (
    meeting   TEXT NOT NULL,
    document  TEXT NOT NULL,
    version   INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    pages     INTEGER,
    file_name TEXT NOT NULL,
    added_at  INTEGER NOT NULL,
    analysis  TEXT,
    PRIMARY KEY (meeting, document, version),
    FOREIGN KEY (meeting, document) REFERENCES documents(meeting, id) ON DELETE CASCADE
);

CREATE TABLE annotations (
    meeting    TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    author     TEXT NOT NULL,
    document   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    page       INTEGER NOT NULL,
    shape      TEXT NOT NULL,
    color      TEXT NOT NULL,
    text       TEXT,
    visibility TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (meeting, id)
);

CREATE TABLE attendance (
    meeting TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    person  TEXT NOT NULL,
    present INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (meeting, person)
);

CREATE TABLE speaker_requests (
    meeting      TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    person       TEXT NOT NULL,
    item         TEXT,
    requested_at INTEGER NOT NULL,
    status       TEXT NOT NULL,
    PRIMARY KEY (meeting, id)
);

CREATE TABLE polls (
    meeting         TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    item            TEXT,
    question        TEXT NOT NULL,
    options         TEXT NOT NULL,
    secret          INTEGER NOT NULL,
    rule            TEXT NOT NULL,
    eligible        TEXT NOT NULL,
    closes_at       INTEGER,
    status          TEXT NOT NULL,
    counts          TEXT NOT NULL,
    present_at_open INTEGER NOT NULL,
    outcome         TEXT,
    PRIMARY KEY (meeting, id)
);

-- Named ballots only; secret polls record turnout, never a voter's choice.
CREATE TABLE ballots (
    meeting TEXT NOT NULL,
    poll    TEXT NOT NULL,
    voter   TEXT NOT NULL,
    choice  INTEGER NOT NULL,
    PRIMARY KEY (meeting, poll, voter),
    FOREIGN KEY (meeting, poll) REFERENCES polls(meeting, id) ON DELETE CASCADE
);

CREATE TABLE turnout (
    meeting TEXT NOT NULL,
    poll    TEXT NOT NULL,
    person  TEXT NOT NULL,
    PRIMARY KEY (meeting, poll, person),
    FOREIGN KEY (meeting, poll) REFERENCES polls(meeting, id) ON DELETE CASCADE
);

-- 0002: tables for sync: the hub's invites, sessions-free command ledger,
-- the client's outbox and pairing, and full-text search over page texts.

-- Hub: one-time invite codes (stored hashed) for pairing a device.
CREATE TABLE invites (
    code_hash  TEXT PRIMARY KEY,
    person     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    device     TEXT
);

-- Hub: every command id ever seen, with the answer given, so a replay is
-- acknowledged with the same answer and never applied twice. Written in the
-- same transaction as the command's events.
CREATE TABLE commands (
    id          TEXT PRIMARY KEY,
    device      TEXT NOT NULL,
    ack         TEXT NOT NULL,
    received_at INTEGER NOT NULL
);

-- Client: commands made on this device, durable before the UI says "saved",
-- sent until the hub acknowledges them.
CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    meeting    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    acked_at   INTEGER,
    ack        TEXT
);

-- Key/value settings of a client (pairing: hub address, device id, …).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Full-text search over the pages of papers. `folded` holds the page text
-- folded (diacritics removed, đ → d, lowercase, one char per source char)
-- so a match offset maps back to the character boxes.
CREATE VIRTUAL TABLE page_text USING fts5 (
    folded,
    meeting UNINDEXED,
    document UNINDEXED,
    version UNINDEXED,
    page UNINDEXED,
    original UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

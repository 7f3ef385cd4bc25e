-- 0007: a secret poll's sealed choices as one encrypted tally per poll.
-- sealed_ballots (0003) kept one row per ballot, inserted in turnout order:
-- a copy of hub.db taken while the poll was open paired every choice with
-- its voter by rowid. The tally is the count per option, encrypted
-- (ChaCha20-Poly1305, fresh nonce at every ballot, key derived from the
-- hub's key file, not stored here): every ballot rewrites the same
-- fixed-size row, so neither layout nor bytes follow the choices.
-- sealed_ballots stays for rows an older version left (read at the close).
CREATE TABLE sealed_tallies (
    meeting TEXT NOT NULL,
    poll    TEXT NOT NULL,
    nonce   BLOB NOT NULL,
    sealed  BLOB NOT NULL,
    PRIMARY KEY (meeting, poll)
) WITHOUT ROWID;

-- 0008: each entry's secret salt (see phonghop_core::log). A redacted
-- entry kept only SHA-256(payload): anyone who knew a confidential
-- paper's id could confirm a guessed title by hashing it. The payload hash
-- of an entry sealed from now on includes a per-entry salt that travels
-- with the payload only. NULL: redacted here, or sealed before salts.
ALTER TABLE log_entries ADD COLUMN salt BLOB;

-- 0004: one global append order across all of a hub's logs.
--
-- Until now a store replayed its logs one after another in key order
-- (directory, meetings, personal logs), while the hub had applied them in
-- time order: an event accepted live could be refused on reopen (a private
-- note's id freed and reused by a shared note made the hub unopenable).
-- Every entry now carries `gseq`, its place in the hub's one append order;
-- hub and devices replay in that order.
--
-- Entries written before this migration keep their old replay order, as
-- negative numbers (-n … -1), so they sort before every later entry, which
-- the hub numbers from 1. A device stores the hub's numbers as received.
ALTER TABLE log_entries ADD COLUMN gseq INTEGER;

UPDATE log_entries SET gseq = o.g
FROM (
    SELECT log AS l, seq AS s,
           ROW_NUMBER() OVER (ORDER BY log, seq) - COUNT(*) OVER () - 1 AS g
    FROM log_entries
) AS o
WHERE o.l = log_entries.log AND o.s = log_entries.seq;

CREATE UNIQUE INDEX log_entries_by_gseq ON log_entries (gseq);

-- Device: entries the hub sent, signed and in their chain, that this
-- device's reducer could not apply. They are kept (the chain stays whole)
-- but not applied, with the reason shown to the user, and syncing goes on:
-- one bad entry must never freeze a device. The hub never sends one on
-- purpose; each row here is a bug report.
CREATE TABLE quarantine (
    log    TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    code   TEXT    NOT NULL,
    reason TEXT    NOT NULL,
    PRIMARY KEY (log, seq)
) WITHOUT ROWID;

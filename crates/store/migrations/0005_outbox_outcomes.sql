-- 0005: each outbox command's own terminal state, on the device.
--
-- A command the hub could not take (a 3 MB note: HTTP 413) made every flush
-- fail, so the ballot queued behind it never left the device and nothing
-- said which command was at fault. Now every command ends on its own:
-- applied, or refused with a code and reason — the hub's answer, or the
-- transport's refusal of that one request (413, 400) — kept in `ack` as
-- before, and the commands behind it go on. A failure that may pass
-- (network, 5xx) leaves the command pending and is recorded against it:
-- `attempts` and `last_error` ("code: message") name the command that
-- waits and why. `dismissed_at` is set when the person has seen a refusal
-- in the app ("Đã xem"); the row stays, as the device's record.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN dismissed_at INTEGER;

CREATE INDEX outbox_by_meeting ON outbox (meeting, created_at);

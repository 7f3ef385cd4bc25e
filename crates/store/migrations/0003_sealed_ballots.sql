-- 0003: the hub's sealed secret ballots. A secret ballot's choice waits
-- here, with no voter, while its poll is open; at the close all of them are
-- published together in option order. Published one by one, each right
-- after the turnout entry (who voted) of the same command, the log paired
-- every choice with its voter for anyone holding it — every member's device.
CREATE TABLE sealed_ballots (
    meeting TEXT NOT NULL,
    poll    TEXT NOT NULL,
    choice  INTEGER NOT NULL
);
CREATE INDEX sealed_ballots_poll ON sealed_ballots (meeting, poll);

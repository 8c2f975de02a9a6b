-- The fencing token of the servers sharing a database: the server that
-- takes the lead increments epoch (one row) and every write of the
-- leader's work checks, in its own transaction, that epoch is still its
-- own (a share lock on the row): a leader that was frozen while another
-- took over cannot commit after the takeover.

-- +goose Up
CREATE TABLE leader_epoch (
	id    INTEGER PRIMARY KEY,
	epoch BIGINT NOT NULL
);
INSERT INTO leader_epoch(id, epoch) VALUES (1, 0);

-- +goose Down
DROP TABLE leader_epoch;

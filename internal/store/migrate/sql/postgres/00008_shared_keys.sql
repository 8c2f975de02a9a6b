-- Secrets that every server of one database must share (the console's
-- session signing key, the acknowledgement links' key), hex-encoded: with
-- two servers behind a load balancer, a session or a link made by one is
-- valid on the other.

-- +goose Up
CREATE TABLE shared_keys (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- +goose Down
DROP TABLE shared_keys;

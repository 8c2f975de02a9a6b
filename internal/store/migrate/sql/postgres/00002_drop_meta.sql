-- The meta table held only schema_version = 1; the version of the schema
-- is now goose's own table (goose_db_version).

-- +goose Up
DROP TABLE IF EXISTS meta;

-- +goose Down
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT INTO meta(k, v) VALUES ('schema_version', '1') ON CONFLICT DO NOTHING;

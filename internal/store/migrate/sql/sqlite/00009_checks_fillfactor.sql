-- PostgreSQL's migration 9 sets the checks table's fillfactor (HOT state
-- updates); SQLite has no such setting. Kept so that both stores have the
-- same migration numbers.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;

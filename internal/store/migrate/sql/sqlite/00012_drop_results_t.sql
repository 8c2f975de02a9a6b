-- results(t), an index on time alone, served only the hourly prune, yet
-- every result written paid for it: in SQLite a move of staged results
-- spent about 40 % of its inserts' time there, its entries landing on
-- half-empty pages near the end of the index. The prune now goes check by
-- check through results(check_id, t).

-- +goose Up
DROP INDEX IF EXISTS results_t;

-- +goose Down
CREATE INDEX IF NOT EXISTS results_t ON results(t);

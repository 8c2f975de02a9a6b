-- results(t), an index on time alone, served only the hourly prune, yet
-- every result written paid for it: in SQLite a move of staged results
-- takes 16-22 % less time without it (BenchmarkMoveStaged), and it held
-- 12 % of a database of 690,000 results. The prune now goes check by
-- check through results(check_id, t).

-- +goose Up
DROP INDEX IF EXISTS results_t;

-- +goose Down
CREATE INDEX IF NOT EXISTS results_t ON results(t);

-- Results are written first to results_recent, in the order they come,
-- and moved into results in bulk, sorted by check and time (docs/
-- architecture.md, "The store"): once a store has run a while, each check
-- has index pages of its own in results(check_id, t), and a result
-- written there directly changes a page of its own; moved in bulk, one
-- page takes many results of a check. The store moves what is staged at
-- least once a minute and when it opens; readers read both tables.

-- +goose Up
CREATE TABLE results_recent (
	check_id BIGINT NOT NULL,
	t BIGINT NOT NULL,
	status BIGINT NOT NULL,
	state_type BIGINT NOT NULL,
	attempt BIGINT NOT NULL,
	duration_us BIGINT NOT NULL,
	output TEXT NOT NULL,
	perf TEXT NOT NULL
);

-- +goose Down
INSERT INTO results(check_id, t, status, state_type, attempt, duration_us, output, perf)
	SELECT check_id, t, status, state_type, attempt, duration_us, output, perf FROM results_recent;
DROP TABLE results_recent;

-- The recovery audit log: every action (and every give-up) of the
-- recovery runner, and the memory of its budgets.

-- +goose Up
CREATE TABLE IF NOT EXISTS recovery_actions (
	id          BIGSERIAL PRIMARY KEY,
	kind        TEXT NOT NULL,
	time        BIGINT NOT NULL,
	check_name  TEXT NOT NULL,
	host        TEXT NOT NULL DEFAULT '',
	incident_id BIGINT NOT NULL DEFAULT 0,
	problem     TEXT NOT NULL,
	step        BIGINT NOT NULL,
	action      TEXT NOT NULL DEFAULT '',
	service     TEXT NOT NULL DEFAULT '',
	what        TEXT NOT NULL DEFAULT '',
	trigger     TEXT NOT NULL DEFAULT '',
	who         TEXT NOT NULL DEFAULT '',
	dry_run     BIGINT NOT NULL DEFAULT 0,
	refused     BIGINT NOT NULL DEFAULT 0,
	counted     BIGINT NOT NULL DEFAULT 0,
	exit_code   BIGINT NOT NULL DEFAULT 0,
	output      TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	finished_at BIGINT,
	verified    TEXT NOT NULL DEFAULT '',
	verify_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS recovery_actions_check ON recovery_actions(check_name, time);
CREATE INDEX IF NOT EXISTS recovery_actions_incident ON recovery_actions(incident_id);

-- +goose Down
DROP TABLE IF EXISTS recovery_actions;

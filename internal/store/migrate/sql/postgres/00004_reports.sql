-- Stored reports (immutable; the monthly one unique per tenant, month and
-- language) and the server's runs, whose gaps a report shows as no data.

-- +goose Up
CREATE TABLE IF NOT EXISTS reports (
	id BIGSERIAL PRIMARY KEY,
	tenant TEXT NOT NULL,
	kind TEXT NOT NULL,
	month TEXT NOT NULL DEFAULT '',
	period_from BIGINT NOT NULL,
	period_to BIGINT NOT NULL,
	lang TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	pdf BYTEA NOT NULL,
	html BYTEA NOT NULL,
	json BYTEA NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS reports_monthly ON reports(tenant, month, lang) WHERE kind = 'monthly';
CREATE INDEX IF NOT EXISTS reports_tenant ON reports(tenant, id);
CREATE TABLE IF NOT EXISTS server_runs (
	start BIGINT PRIMARY KEY,
	last BIGINT NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS server_runs;
DROP TABLE IF EXISTS reports;

-- Stored reports (immutable; the monthly one unique per tenant, month and
-- language) and the server's runs, whose gaps a report shows as no data.

-- +goose Up
CREATE TABLE IF NOT EXISTS reports (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant TEXT NOT NULL,
	kind TEXT NOT NULL,
	month TEXT NOT NULL DEFAULT '',
	period_from INTEGER NOT NULL,
	period_to INTEGER NOT NULL,
	lang TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	pdf BLOB NOT NULL,
	html BLOB NOT NULL,
	json BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS reports_monthly ON reports(tenant, month, lang) WHERE kind = 'monthly';
CREATE INDEX IF NOT EXISTS reports_tenant ON reports(tenant, id);
CREATE TABLE IF NOT EXISTS server_runs (
	start INTEGER PRIMARY KEY,
	last INTEGER NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS server_runs;
DROP TABLE IF EXISTS reports;

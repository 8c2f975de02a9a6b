-- The schema as it stood before numbered migrations. Every statement is
-- idempotent (IF NOT EXISTS, OR IGNORE), so a data directory created
-- before migrations existed passes through this step unchanged and is
-- marked as version 1.

-- +goose Up

-- checks, results, events and meta (the store core)
CREATE TABLE IF NOT EXISTS checks (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	status INTEGER NOT NULL DEFAULT 0,
	state_type INTEGER NOT NULL DEFAULT 0,
	attempt INTEGER NOT NULL DEFAULT 0,
	hard_status INTEGER NOT NULL DEFAULT 0,
	last_check INTEGER NOT NULL DEFAULT 0,
	last_change INTEGER NOT NULL DEFAULT 0,
	last_hard INTEGER NOT NULL DEFAULT 0,
	problem_at INTEGER NOT NULL DEFAULT 0,
	flapping INTEGER NOT NULL DEFAULT 0,
	flap_pct REAL NOT NULL DEFAULT 0,
	unreachable INTEGER NOT NULL DEFAULT 0,
	history TEXT NOT NULL DEFAULT '',
	output TEXT NOT NULL DEFAULT '',
	perf TEXT NOT NULL DEFAULT '',
	duration_us INTEGER NOT NULL DEFAULT 0,
	active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS results (
	check_id INTEGER NOT NULL,
	t INTEGER NOT NULL,
	status INTEGER NOT NULL,
	state_type INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	duration_us INTEGER NOT NULL,
	output TEXT NOT NULL,
	perf TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_check_t ON results(check_id, t);
CREATE INDEX IF NOT EXISTS results_t ON results(t);
CREATE TABLE IF NOT EXISTS events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	check_id INTEGER NOT NULL,
	t INTEGER NOT NULL,
	from_status INTEGER NOT NULL,
	from_type INTEGER NOT NULL,
	to_status INTEGER NOT NULL,
	to_type INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	flags INTEGER NOT NULL,
	problem_us INTEGER NOT NULL,
	output TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_t ON events(t);
CREATE INDEX IF NOT EXISTS events_check_t ON events(check_id, t);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT OR IGNORE INTO meta(k, v) VALUES ('schema_version', '1');

-- agents and push reports
CREATE TABLE IF NOT EXISTS agent_hosts (
	host TEXT PRIMARY KEY,
	token_hash BLOB,
	tenant TEXT NOT NULL DEFAULT '',
	enrolled_at INTEGER NOT NULL DEFAULT 0,
	last_seen INTEGER NOT NULL DEFAULT 0,
	last_seq INTEGER NOT NULL DEFAULT 0,
	dropped_results INTEGER NOT NULL DEFAULT 0,
	dropped_samples INTEGER NOT NULL DEFAULT 0,
	agent_info TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS push_reports (
	check_name TEXT PRIMARY KEY,
	watch_since INTEGER NOT NULL DEFAULT 0,
	at INTEGER NOT NULL DEFAULT 0,
	t INTEGER NOT NULL DEFAULT 0,
	status INTEGER NOT NULL DEFAULT 0,
	duration_us INTEGER NOT NULL DEFAULT 0,
	output TEXT NOT NULL DEFAULT '',
	long_output TEXT NOT NULL DEFAULT '',
	perf TEXT NOT NULL DEFAULT ''
);

-- incidents, timeline, notification outbox, deliveries, cursors
CREATE TABLE IF NOT EXISTS incidents (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	check_name TEXT NOT NULL,
	host TEXT NOT NULL DEFAULT '',
	tenant TEXT NOT NULL DEFAULT '',
	scope TEXT NOT NULL DEFAULT 'check',
	status TEXT NOT NULL,
	state INTEGER NOT NULL,
	title TEXT NOT NULL,
	output TEXT NOT NULL DEFAULT '',
	detected_at INTEGER NOT NULL,
	opened_at INTEGER NOT NULL,
	acked_at INTEGER NOT NULL DEFAULT 0,
	acked_by TEXT NOT NULL DEFAULT '',
	recovered_at INTEGER NOT NULL DEFAULT 0,
	reported_at INTEGER NOT NULL DEFAULT 0,
	resolved_at INTEGER NOT NULL DEFAULT 0,
	closed_at INTEGER NOT NULL DEFAULT 0,
	runbook TEXT NOT NULL DEFAULT '',
	notify TEXT NOT NULL DEFAULT '[]',
	attached TEXT NOT NULL DEFAULT '[]',
	esc_level INTEGER NOT NULL DEFAULT -1,
	esc_round INTEGER NOT NULL DEFAULT 0,
	esc_next_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_check_status ON incidents(check_name, status);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents(status, esc_next_at);
CREATE INDEX IF NOT EXISTS incidents_opened ON incidents(opened_at);
CREATE TABLE IF NOT EXISTS timeline (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id INTEGER NOT NULL DEFAULT 0,
	ticket_id INTEGER NOT NULL DEFAULT 0,
	t INTEGER NOT NULL,
	kind TEXT NOT NULL,
	actor TEXT NOT NULL DEFAULT '',
	text TEXT NOT NULL,
	data TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS timeline_incident ON timeline(incident_id, id);
CREATE TABLE IF NOT EXISTS notifications (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id INTEGER NOT NULL,
	channel TEXT NOT NULL,
	contact TEXT NOT NULL DEFAULT '',
	recipient TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	level INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	delivered_at INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	provider_id TEXT NOT NULL DEFAULT '',
	payload BLOB NOT NULL,
	dedup TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS notifications_fifo ON notifications(channel, status, id);
CREATE INDEX IF NOT EXISTS notifications_incident ON notifications(incident_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
	notification_id INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	t INTEGER NOT NULL,
	ok INTEGER NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	duration_us INTEGER NOT NULL,
	PRIMARY KEY (notification_id, attempt)
);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);

-- maintenance windows
CREATE TABLE IF NOT EXISTS maintenances (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	body TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	deleted_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS maint_suppressed (
	check_name TEXT PRIMARY KEY,
	event_id INTEGER NOT NULL,
	t INTEGER NOT NULL
);

-- runbook versions
CREATE TABLE IF NOT EXISTS runbook_versions (
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	markdown TEXT NOT NULL,
	author TEXT NOT NULL DEFAULT '',
	t INTEGER NOT NULL,
	PRIMARY KEY (name, version)
);

-- tickets
CREATE TABLE IF NOT EXISTS tickets (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	priority TEXT NOT NULL,
	assignee TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	closed_at INTEGER NOT NULL DEFAULT 0,
	hosts TEXT NOT NULL DEFAULT '[]',
	checks TEXT NOT NULL DEFAULT '[]',
	incident_ids TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS tickets_status ON tickets(status, id);
CREATE INDEX IF NOT EXISTS tickets_tenant ON tickets(tenant, status, id);
CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created_at);
CREATE INDEX IF NOT EXISTS tickets_assignee ON tickets(assignee, status);
CREATE INDEX IF NOT EXISTS timeline_ticket ON timeline(ticket_id, id);

-- users, API tokens, sessions
CREATE TABLE IF NOT EXISTS users (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL UNIQUE COLLATE NOCASE,
	role TEXT NOT NULL,
	tenant TEXT NOT NULL DEFAULT '',
	lang TEXT NOT NULL DEFAULT '',
	time_zone TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	password_changed_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	disabled_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS users_tenant ON users(tenant);
CREATE TABLE IF NOT EXISTS api_tokens (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	digest BLOB NOT NULL UNIQUE,
	label TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens(user_id, revoked_at);
CREATE TABLE IF NOT EXISTS sessions (
	digest BLOB PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	ip TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE INDEX IF NOT EXISTS sessions_created ON sessions(created_at);
CREATE INDEX IF NOT EXISTS sessions_last_seen ON sessions(last_seen);

-- +goose Down
-- The baseline is never rolled back.

-- The PostgreSQL form of SQLite's baseline (migration 1): the same tables
-- and columns, with BIGINT for SQLite's 64-bit INTEGER, BIGSERIAL for its
-- AUTOINCREMENT keys, BYTEA for BLOB, and user names unique and compared
-- without regard to case through an index on lower(name).

-- +goose Up

-- checks, results, events and meta (the store core)
CREATE TABLE IF NOT EXISTS checks (
	id BIGSERIAL PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	status BIGINT NOT NULL DEFAULT 0,
	state_type BIGINT NOT NULL DEFAULT 0,
	attempt BIGINT NOT NULL DEFAULT 0,
	hard_status BIGINT NOT NULL DEFAULT 0,
	last_check BIGINT NOT NULL DEFAULT 0,
	last_change BIGINT NOT NULL DEFAULT 0,
	last_hard BIGINT NOT NULL DEFAULT 0,
	problem_at BIGINT NOT NULL DEFAULT 0,
	flapping BIGINT NOT NULL DEFAULT 0,
	flap_pct DOUBLE PRECISION NOT NULL DEFAULT 0,
	unreachable BIGINT NOT NULL DEFAULT 0,
	history TEXT NOT NULL DEFAULT '',
	output TEXT NOT NULL DEFAULT '',
	perf TEXT NOT NULL DEFAULT '',
	duration_us BIGINT NOT NULL DEFAULT 0,
	active BIGINT NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS results (
	check_id BIGINT NOT NULL,
	t BIGINT NOT NULL,
	status BIGINT NOT NULL,
	state_type BIGINT NOT NULL,
	attempt BIGINT NOT NULL,
	duration_us BIGINT NOT NULL,
	output TEXT NOT NULL,
	perf TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_check_t ON results(check_id, t);
CREATE INDEX IF NOT EXISTS results_t ON results(t);
CREATE TABLE IF NOT EXISTS events (
	id BIGSERIAL PRIMARY KEY,
	check_id BIGINT NOT NULL,
	t BIGINT NOT NULL,
	from_status BIGINT NOT NULL,
	from_type BIGINT NOT NULL,
	to_status BIGINT NOT NULL,
	to_type BIGINT NOT NULL,
	attempt BIGINT NOT NULL,
	flags BIGINT NOT NULL,
	problem_us BIGINT NOT NULL,
	output TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_t ON events(t);
CREATE INDEX IF NOT EXISTS events_check_t ON events(check_id, t);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT INTO meta(k, v) VALUES ('schema_version', '1') ON CONFLICT DO NOTHING;

-- agents and push reports
CREATE TABLE IF NOT EXISTS agent_hosts (
	host TEXT PRIMARY KEY,
	token_hash BYTEA,
	tenant TEXT NOT NULL DEFAULT '',
	enrolled_at BIGINT NOT NULL DEFAULT 0,
	last_seen BIGINT NOT NULL DEFAULT 0,
	last_seq BIGINT NOT NULL DEFAULT 0,
	dropped_results BIGINT NOT NULL DEFAULT 0,
	dropped_samples BIGINT NOT NULL DEFAULT 0,
	agent_info TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS push_reports (
	check_name TEXT PRIMARY KEY,
	watch_since BIGINT NOT NULL DEFAULT 0,
	at BIGINT NOT NULL DEFAULT 0,
	t BIGINT NOT NULL DEFAULT 0,
	status BIGINT NOT NULL DEFAULT 0,
	duration_us BIGINT NOT NULL DEFAULT 0,
	output TEXT NOT NULL DEFAULT '',
	long_output TEXT NOT NULL DEFAULT '',
	perf TEXT NOT NULL DEFAULT ''
);

-- incidents, timeline, notification outbox, deliveries, cursors
CREATE TABLE IF NOT EXISTS incidents (
	id BIGSERIAL PRIMARY KEY,
	check_name TEXT NOT NULL,
	host TEXT NOT NULL DEFAULT '',
	tenant TEXT NOT NULL DEFAULT '',
	scope TEXT NOT NULL DEFAULT 'check',
	status TEXT NOT NULL,
	state BIGINT NOT NULL,
	title TEXT NOT NULL,
	output TEXT NOT NULL DEFAULT '',
	detected_at BIGINT NOT NULL,
	opened_at BIGINT NOT NULL,
	acked_at BIGINT NOT NULL DEFAULT 0,
	acked_by TEXT NOT NULL DEFAULT '',
	recovered_at BIGINT NOT NULL DEFAULT 0,
	reported_at BIGINT NOT NULL DEFAULT 0,
	resolved_at BIGINT NOT NULL DEFAULT 0,
	closed_at BIGINT NOT NULL DEFAULT 0,
	runbook TEXT NOT NULL DEFAULT '',
	notify TEXT NOT NULL DEFAULT '[]',
	attached TEXT NOT NULL DEFAULT '[]',
	esc_level BIGINT NOT NULL DEFAULT -1,
	esc_round BIGINT NOT NULL DEFAULT 0,
	esc_next_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_check_status ON incidents(check_name, status);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents(status, esc_next_at);
CREATE INDEX IF NOT EXISTS incidents_opened ON incidents(opened_at);
CREATE TABLE IF NOT EXISTS timeline (
	id BIGSERIAL PRIMARY KEY,
	incident_id BIGINT NOT NULL DEFAULT 0,
	ticket_id BIGINT NOT NULL DEFAULT 0,
	t BIGINT NOT NULL,
	kind TEXT NOT NULL,
	actor TEXT NOT NULL DEFAULT '',
	text TEXT NOT NULL,
	data TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS timeline_incident ON timeline(incident_id, id);
CREATE TABLE IF NOT EXISTS notifications (
	id BIGSERIAL PRIMARY KEY,
	incident_id BIGINT NOT NULL,
	channel TEXT NOT NULL,
	contact TEXT NOT NULL DEFAULT '',
	recipient TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	level BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	attempts BIGINT NOT NULL DEFAULT 0,
	next_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	delivered_at BIGINT NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	provider_id TEXT NOT NULL DEFAULT '',
	payload BYTEA NOT NULL,
	dedup TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS notifications_fifo ON notifications(channel, status, id);
CREATE INDEX IF NOT EXISTS notifications_incident ON notifications(incident_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
	notification_id BIGINT NOT NULL,
	attempt BIGINT NOT NULL,
	t BIGINT NOT NULL,
	ok BIGINT NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	duration_us BIGINT NOT NULL,
	PRIMARY KEY (notification_id, attempt)
);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value BIGINT NOT NULL);

-- maintenance windows
CREATE TABLE IF NOT EXISTS maintenances (
	id BIGSERIAL PRIMARY KEY,
	body TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	deleted_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS maint_suppressed (
	check_name TEXT PRIMARY KEY,
	event_id BIGINT NOT NULL,
	t BIGINT NOT NULL
);

-- runbook versions
CREATE TABLE IF NOT EXISTS runbook_versions (
	name TEXT NOT NULL,
	version BIGINT NOT NULL,
	markdown TEXT NOT NULL,
	author TEXT NOT NULL DEFAULT '',
	t BIGINT NOT NULL,
	PRIMARY KEY (name, version)
);

-- tickets
CREATE TABLE IF NOT EXISTS tickets (
	id BIGSERIAL PRIMARY KEY,
	tenant TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	priority TEXT NOT NULL,
	assignee TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	closed_at BIGINT NOT NULL DEFAULT 0,
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
	id BIGSERIAL PRIMARY KEY,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	tenant TEXT NOT NULL DEFAULT '',
	lang TEXT NOT NULL DEFAULT '',
	time_zone TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	password_changed_at BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	disabled_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS users_name ON users(lower(name));
CREATE INDEX IF NOT EXISTS users_tenant ON users(tenant);
CREATE TABLE IF NOT EXISTS api_tokens (
	id BIGSERIAL PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	digest BYTEA NOT NULL UNIQUE,
	label TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL DEFAULT 0,
	expires_at BIGINT NOT NULL DEFAULT 0,
	revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens(user_id, revoked_at);
CREATE TABLE IF NOT EXISTS sessions (
	digest BYTEA PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE INDEX IF NOT EXISTS sessions_created ON sessions(created_at);
CREATE INDEX IF NOT EXISTS sessions_last_seen ON sessions(last_seen);

-- +goose Down
-- The baseline is never rolled back.

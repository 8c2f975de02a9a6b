-- Incident levels (障害対応レベル), root cause and remediation (障害根本解決策),
-- and outbox rows that belong to a ticket (ticket notifications).

-- +goose Up
ALTER TABLE incidents ADD COLUMN level INTEGER NOT NULL DEFAULT 2;
ALTER TABLE incidents ADD COLUMN root_cause TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN remediation TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN ticket_id BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE notifications DROP COLUMN ticket_id;
ALTER TABLE incidents DROP COLUMN remediation;
ALTER TABLE incidents DROP COLUMN root_cause;
ALTER TABLE incidents DROP COLUMN level;

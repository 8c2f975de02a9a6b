-- Comments get a visibility (internal: operators only; customer: shown in
-- the customer portal too). Other timeline entries keep '' and are shown
-- to customers by their kind. Existing comments of customer and viewer
-- users become customer-visible, every other comment internal.
--
-- Login attempts are recorded (who, when, from where, with what outcome)
-- for the login throttle and for the user's and the admins' view.

-- +goose Up
ALTER TABLE timeline ADD COLUMN visibility TEXT NOT NULL DEFAULT '';
UPDATE timeline SET visibility = 'customer'
	WHERE kind = 'comment' AND lower(actor) IN (SELECT lower(name) FROM users WHERE role IN ('customer', 'viewer'));
UPDATE timeline SET visibility = 'internal' WHERE kind = 'comment' AND visibility = '';
CREATE TABLE IF NOT EXISTS login_attempts (
	id BIGSERIAL PRIMARY KEY,
	user_name TEXT NOT NULL,
	t BIGINT NOT NULL,
	ip TEXT NOT NULL DEFAULT '',
	known BIGINT NOT NULL DEFAULT 0,
	outcome TEXT NOT NULL,
	delay_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS login_attempts_user ON login_attempts(lower(user_name), t);
CREATE INDEX IF NOT EXISTS login_attempts_t ON login_attempts(t);

-- +goose Down
DROP TABLE IF EXISTS login_attempts;
ALTER TABLE timeline DROP COLUMN visibility;

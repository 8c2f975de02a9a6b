-- Who ran a check's last result: '' for the server, else the name of the
-- zone's poller (mamori poller --name).

-- +goose Up
ALTER TABLE checks ADD COLUMN poller TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE checks DROP COLUMN poller;

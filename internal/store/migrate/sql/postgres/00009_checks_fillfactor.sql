-- Every result rewrites its check's row in checks (the state). With pages
-- filled to 100 % PostgreSQL often cannot put the new row version on the
-- same page, and then the update also inserts into both indexes (bench/scale
-- at 100,000 checks a minute: 69-70 % HOT updates). Half-empty pages keep
-- the updates HOT (no index touched). It applies to pages written from now
-- on; an existing table gets it fully after VACUUM FULL checks.

-- +goose Up
ALTER TABLE checks SET (fillfactor = 50);

-- +goose Down
ALTER TABLE checks RESET (fillfactor);

package metrics

import "context"

// Compact persists what the head holds into blocks and merges blocks as
// the library's planner sees fit, waiting for a compaction already under
// way. The database does this by itself once a minute; Compact is for
// tools and benchmarks that need the store settled now.
func (s *Store) Compact(ctx context.Context) error {
	if s.db == nil {
		return ErrReadOnly
	}
	return s.db.Compact(ctx)
}

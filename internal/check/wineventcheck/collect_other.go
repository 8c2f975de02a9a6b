//go:build !windows

package wineventcheck

import "context"

func collectEvents(ctx context.Context, channel, xpath string, after uint64, started bool) ([]Event, uint64, error) {
	return nil, 0, ErrNotWindows
}

package store

import (
	"context"
	"errors"
)

// ErrFenced is returned by a write of the leader's work whose leadership
// has ended: another server took the lead of the database (incremented
// its epoch) since this one took it. Nothing of the transaction is
// stored; the server must stop leading at once.
var ErrFenced = errors.New("fenced: another server took the lead of the database")

type epochKey struct{}

// WithEpoch marks ctx as the leader's work of the leadership epoch (from
// the store's TakeLead): every write transaction made with ctx checks, in
// the transaction, that the database's epoch is still epoch, and fails
// with ErrFenced otherwise.
func WithEpoch(ctx context.Context, epoch int64) context.Context {
	return context.WithValue(ctx, epochKey{}, epoch)
}

// Epoch is the leadership epoch ctx writes under (0: none, not fenced).
func Epoch(ctx context.Context) int64 {
	e, _ := ctx.Value(epochKey{}).(int64)
	return e
}

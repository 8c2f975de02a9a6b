package agent

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// runUntilSignal runs run until SIGINT or SIGTERM.
func runUntilSignal(run func(context.Context) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx)
}

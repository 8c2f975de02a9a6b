package main

import (
	"crypto/sha256"
	"time"
)

// hostSpeed times a fixed piece of CPU work (SHA-256 over 32 MiB, on one
// goroutine; the best of three) in milliseconds. Taken before the run and
// after the window, it tells the host's own speed in that run apart from
// the process's: a VM's speed drifts from one run to the next, and the
// target's CPU per request is no fair yardstick when a change alters the
// pattern of its requests (requests in bursts cost it less too).
func hostSpeed() float64 {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		for range 32 {
			sum := sha256.Sum256(buf)
			buf[0] ^= sum[0]
		}
		best = min(best, time.Since(start))
	}
	return float64(best.Microseconds()) / 1000
}

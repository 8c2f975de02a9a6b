//go:build !unix

package report_test

import (
	"testing"
	"time"
)

// cpuTime is not measured here (cpu-s/op reads 0).
func cpuTime(*testing.B) time.Duration { return 0 }

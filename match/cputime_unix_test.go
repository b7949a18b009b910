//go:build unix

package match_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, so that a benchmark
// can report work per CPU-second: on a machine shared with other work,
// wall time overstates the cost.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

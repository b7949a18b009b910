//go:build !unix

package match_test

import "time"

// cpuTime is unknown here; benchmarks then report no per-CPU-second rate.
func cpuTime() time.Duration { return 0 }

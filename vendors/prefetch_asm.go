//go:build amd64 || arm64

package vendors

import "sync/atomic"

// prefetch asks the CPU to start loading addr's cache line and returns at
// once (a load would hold up the instructions after it until the line
// arrived).
//
//go:noescape
func prefetch(addr *atomic.Uint64)

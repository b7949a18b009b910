//go:build !amd64 && !arm64

package vendors

import "sync/atomic"

// prefetch does nothing here: see prefetch_asm.go.
func prefetch(*atomic.Uint64) {}

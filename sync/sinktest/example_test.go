package sinktest_test

import (
	"context"
	"testing"

	"github.com/m365link/m365link"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/sinktest"
)

// A host runs the suites from its own tests, on its own implementations
// (here the package's memory ones stand in for them).
func Example() {
	_ = func(t *testing.T) {
		sinktest.RunStateStore(t, func(*testing.T) m365sync.StateStore { return &m365sync.MemoryState{} })
		sinktest.RunLeaseStore(t, func(*testing.T) m365sync.LeaseStore { return &m365sync.MemoryLeases{} })
		sinktest.RunSink(t, func(*testing.T) (m365sync.Sink, sinktest.Contents) {
			s := &m365sync.MemorySink{}
			return s, func(_ context.Context, mb m365link.Mailbox) (map[string]string, error) {
				out := map[string]string{}
				for _, id := range s.IDs(mb) {
					_, folder, _ := s.Message(mb, id)
					out[id] = folder
				}
				return out, nil
			}
		})
	}
}

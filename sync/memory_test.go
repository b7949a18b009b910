package sync_test

import (
	"context"
	"testing"

	"github.com/m365link/m365link"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/sinktest"
)

func TestMemoryStateContract(t *testing.T) {
	sinktest.RunStateStore(t, func(*testing.T) m365sync.StateStore { return &m365sync.MemoryState{} })
}

func TestMemoryLeasesContract(t *testing.T) {
	sinktest.RunLeaseStore(t, func(*testing.T) m365sync.LeaseStore { return &m365sync.MemoryLeases{} })
}

func TestMemorySinkContract(t *testing.T) {
	sinktest.RunSink(t, func(*testing.T) (m365sync.Sink, sinktest.Contents) {
		s := &m365sync.MemorySink{}
		return s, func(_ context.Context, mb m365link.Mailbox) (map[string]string, error) {
			out := map[string]string{}
			for _, id := range s.IDs(mb) {
				_, f, _ := s.Message(mb, id)
				out[id] = f
			}
			return out, nil
		}
	})
}

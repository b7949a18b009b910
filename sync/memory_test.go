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
	sinktest.RunLeaseBalancer(t, func(*testing.T) m365sync.LeaseBalancer { return &m365sync.MemoryLeases{} })
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

func TestMemorySinkEventContract(t *testing.T) {
	sinktest.RunEventSink(t, func(*testing.T) (m365sync.EventSink, sinktest.Contents) {
		s := &m365sync.MemorySink{}
		return s, func(_ context.Context, mb m365link.Mailbox) (map[string]string, error) {
			out := map[string]string{}
			for _, id := range s.EventIDs(mb) {
				_, cal, _ := s.Event(mb, id)
				out[id] = cal
			}
			// The kinds are kept apart: no message or contact appears.
			if len(s.IDs(mb)) > 0 || len(s.ContactIDs(mb)) > 0 {
				t.Errorf("events leaked into another kind: %v %v", s.IDs(mb), s.ContactIDs(mb))
			}
			return out, nil
		}
	})
}

func TestMemorySinkContactContract(t *testing.T) {
	sinktest.RunContactSink(t, func(*testing.T) (m365sync.ContactSink, sinktest.Contents) {
		s := &m365sync.MemorySink{}
		return s, func(_ context.Context, mb m365link.Mailbox) (map[string]string, error) {
			out := map[string]string{}
			for _, id := range s.ContactIDs(mb) {
				_, f, _ := s.Contact(mb, id)
				out[id] = f
			}
			if len(s.IDs(mb)) > 0 || len(s.EventIDs(mb)) > 0 {
				t.Errorf("contacts leaked into another kind: %v %v", s.IDs(mb), s.EventIDs(mb))
			}
			return out, nil
		}
	})
}

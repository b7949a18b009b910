package sqlstore_test

import (
	"testing"

	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/sync/sinktest"
)

func TestSyncStateContract(t *testing.T) {
	for _, be := range databases {
		t.Run(be.name, func(t *testing.T) {
			sinktest.RunStateStore(t, func(t *testing.T) m365sync.StateStore { return be.db(t).newStore(t).SyncState() })
		})
	}
}

func TestLeasesContract(t *testing.T) {
	for _, be := range databases {
		t.Run(be.name, func(t *testing.T) {
			sinktest.RunLeaseBalancer(t, func(t *testing.T) m365sync.LeaseBalancer { return be.db(t).newStore(t).Leases() })
		})
	}
}

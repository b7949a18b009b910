// Package sinktest checks that a host's implementations of the sync
// engine's interfaces keep the contracts the engine relies on. A host runs
// them from its own tests:
//
//	func TestStateStore(t *testing.T) {
//		sinktest.RunStateStore(t, func(t *testing.T) m365sync.StateStore { return newMyStore(t) })
//	}
//	func TestLeaseStore(t *testing.T) {
//		sinktest.RunLeaseStore(t, func(t *testing.T) m365sync.LeaseStore { return newMyStore(t) })
//	}
//	func TestLeaseBalancer(t *testing.T) { // a store that balances Run's workers
//		sinktest.RunLeaseBalancer(t, func(t *testing.T) m365sync.LeaseBalancer { return newMyStore(t) })
//	}
//	func TestSink(t *testing.T) {
//		sinktest.RunSink(t, func(t *testing.T) (m365sync.Sink, sinktest.Contents) {
//			s := newMySink(t)
//			return s, s.contents // what the sink holds for a mailbox: message ID -> folder ID
//		})
//	}
//
// RunEventSink and RunContactSink check a calendar or contacts sink with the
// same cases: the contract is the same for every kind.
package sinktest

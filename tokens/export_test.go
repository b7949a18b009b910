package tokens

import "time"

// SetClaimTTL shortens m's refresh claims, so that a test can make a
// refresh outlast one in well under a second of real time.
func SetClaimTTL(m *Manager, d time.Duration) { m.claimTTL = d }

// SetExternalClaimTTL is [SetClaimTTL] for an [External].
func SetExternalClaimTTL(x *External, d time.Duration) { x.claimTTL = d }

// Package tokenstest checks that a [tokens.Store] keeps the contract the
// library relies on. A host that implements its own store runs it from a test:
//
//	func TestMyStore(t *testing.T) {
//		tokenstest.Run(t, func(t *testing.T) tokens.Store { return newMyStore(t) })
//	}
package tokenstest

package tokenstest_test

import (
	"testing"

	"github.com/m365link/m365link/tokens"
	"github.com/m365link/m365link/tokens/tokenstest"
)

// A host that keeps tokens in a store of its own runs the contract suite
// on it from a test (here the memory store stands in for it).
func Example() {
	_ = func(t *testing.T) {
		tokenstest.Run(t, func(*testing.T) tokens.Store { return &tokens.Memory{} })
	}
}

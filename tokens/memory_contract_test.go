package tokens_test

import (
	"testing"

	"github.com/m365link/m365link/tokens"
	"github.com/m365link/m365link/tokens/tokenstest"
)

func TestMemoryContract(t *testing.T) {
	tokenstest.Run(t, func(*testing.T) tokens.Store { return &tokens.Memory{} })
}

package mailsend_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mailsend rides on internal/graph with lean wire types: a host that
// sends mail never compiles msgraph-sdk-go (DESIGN.md, Dependencies).
func TestNoGraphSDKInTheBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/m365link/m365link/mailsend").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/m365link/m365link/internal/graph")
	for _, d := range deps {
		assert.NotContains(t, d, "msgraph-sdk-go")
		assert.NotContains(t, d, "kiota")
	}
}

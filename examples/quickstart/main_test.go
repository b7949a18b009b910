package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's first command must keep working and keep showing the same
// deterministic result.
func TestQuickstart(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(context.Background(), &out))
	lines := strings.Split(out.String(), "\n")
	require.GreaterOrEqual(t, len(lines), 12)
	assert.Equal(t, "mailbox            inbox  pages  requests  top sender domain", lines[3])
	assert.Equal(t, "alice@contoso.com  210    3      3         contoso.com (35)", lines[4])
	assert.Equal(t, "dan@contoso.com    -      -      1         no Exchange Online mailbox: reported, not retried", lines[7])
	assert.Equal(t, "Next round for alice@contoso.com:", lines[9])
	assert.Contains(t, lines[10], `"Revised quotation" from Xavier Lopez <xavier.lopez@acme.com>`)
	assert.True(t, strings.HasPrefix(lines[11], "  removed  "))
}

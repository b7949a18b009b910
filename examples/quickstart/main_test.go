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
	assert.Equal(t, `Fake tenant Contoso (contoso.com), 4 users, 6 vendors

mailbox            state             messages  from or to vendors  top vendor
alice@contoso.com  idle              400       268                 Umbrella Supplies (66)
bob@contoso.com    idle              400       234                 Globex (62)
carol@contoso.com  idle              400       235                 Acme Corporation (61)
dan@contoso.com    not mail-enabled  0         0                   -

Next pass for alice@contoso.com:
  upsert  "Revised quotation" from oscar.schmidt@globex.com -> Globex (contact, oscar.schmidt@globex.com)
  remove  AAkALgAA…QRcnbYY=

In all: 1201 messages in 8 pages, 15 requests to Graph.
`, out.String())
}

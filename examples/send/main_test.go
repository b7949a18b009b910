package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/m365linktest"
)

// Sending twice with the same message sends it once.
func TestSendOnceOnFake(t *testing.T) {
	tenant := m365linktest.New(t)
	tenant.Generate(m365linktest.Spec{Mailboxes: 1, Seed: 1})
	r := request{From: "alice@contoso.com", To: "ann@acme.example, ben@acme.example", Subject: "PO 4711", Body: "Please confirm."}
	var out strings.Builder
	require.NoError(t, send(context.Background(), tenant.Graph(), tenant.AppToken(), r, &out))
	assert.True(t, strings.HasPrefix(out.String(), `sent: "PO 4711" from alice@contoso.com to ann@acme.example, ben@acme.example`), out.String())
	assert.Contains(t, out.String(), "  key:             "+r.key()+"\n")

	out.Reset()
	require.NoError(t, send(context.Background(), tenant.Graph(), tenant.AppToken(), r, &out))
	assert.True(t, strings.HasPrefix(out.String(), "already sent earlier with this key; nothing sent now: "), out.String())

	sent := tenant.SentMail()
	require.Len(t, sent, 1)
	assert.Equal(t, "PO 4711", sent[0].Subject)
	assert.Len(t, sent[0].To, 2)
	assert.Equal(t, "Please confirm.", sent[0].Body)
}

func TestSendNeedsItsFields(t *testing.T) {
	assert.EqualError(t, send(context.Background(), nil, nil, request{From: "a@b"}, nil), "-from, -to and -subject are required")
	_, _, err := fromEnv(func(string) string { return "" })
	assert.EqualError(t, err, "set M365LINK_TENANT_ID, M365LINK_CLIENT_ID and M365LINK_CLIENT_SECRET (or run with -fake)")
	assert.NotEqual(t, request{Subject: "a"}.key(), request{Subject: "b"}.key())
	assert.Equal(t, "mine", request{Key: "mine"}.key())
}

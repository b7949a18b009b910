package consent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// No consent value holding a secret prints it, whatever the verb or the
// log handler: the client secret (behind Config.Tokens), SignedStates'
// HMAC key, an attempt's PKCE verifier and nonce.
func TestNoSecretInFormattedOutput(t *testing.T) {
	key := []byte("hmac-key-0123456789-abcdefghijklmnop")
	signed, err := NewSignedStates(key)
	require.NoError(t, err)
	w := newWorld(t, signed)
	const verifier, nonce = "pkce-verifier-value-never-printed-0123456789", "nonce-value-never-printed"
	attempt := Attempt{ID: "attempt-id-never-printed", Flow: FlowConnect, Binding: bindingOf("host-session-7"), Tenant: tenantA,
		Verifier: verifier, Nonce: nonce, ReturnTo: "/vendors/1", Expires: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	mem := &MemoryStates{}
	_, err = mem.Issue(context.Background(), attempt)
	require.NoError(t, err)
	cfg := w.c.cfg

	secrets := []string{appSecret, string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key), strings.Trim(fmt.Sprint(key), "[]"), verifier, nonce, attempt.ID, attempt.Binding}
	values := []struct {
		name string
		v    any
		want string // what %v prints
		// jsonShowsAll: slog's JSON handler marshals a slice element with
		// encoding/json, which must keep an Attempt whole for stores.
		jsonShowsAll bool
	}{
		{"*Connector", w.c, "consent.Connector{ClientID: " + appID + ", Cloud: fake}", false},
		{"Config", cfg, "consent.Config{ClientID: " + appID + ", Cloud: fake, RedirectURI: " + redirect + ", AdminRedirectURI: " + adminBack + "}", false},
		{"*Config", &cfg, "consent.Config{ClientID: " + appID + ", Cloud: fake, RedirectURI: " + redirect + ", AdminRedirectURI: " + adminBack + "}", false},
		{"*SignedStates", signed, "consent.SignedStates{}", false},
		{"*MemoryStates", mem, "consent.MemoryStates{}", false},
		{"Attempt", attempt, "consent.Attempt{Flow: connect, Tenant: " + tenantA + ", ReturnTo: /vendors/1, Expires: 2026-11-24T12:00:00Z}", false},
		{"[]Attempt", []Attempt{attempt}, "[consent.Attempt{Flow: connect, Tenant: " + tenantA + ", ReturnTo: /vendors/1, Expires: 2026-11-24T12:00:00Z}]", true},
	}
	for _, v := range values {
		t.Run(v.name, func(t *testing.T) {
			assert.Equal(t, v.want, fmt.Sprintf("%v", v.v))
			var outs []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%t"} {
				outs = append(outs, fmt.Sprintf(verb, v.v))
			}
			var js, text bytes.Buffer
			slog.New(slog.NewTextHandler(&text, nil)).Info("m", "v", v.v)
			outs = append(outs, text.String())
			if !v.jsonShowsAll {
				slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "v", v.v)
				outs = append(outs, js.String())
			}
			for _, out := range outs {
				for _, s := range secrets {
					assert.NotContains(t, out, s)
				}
			}
		})
	}
}

package graphclient_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
)

func TestStaticTokenNeverPrintsItsToken(t *testing.T) {
	const secret = "eyJ0eXAiOiJKV1Qi.secret-access-token"
	ts := graphclient.StaticToken(secret)
	tok, err := ts.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, secret, tok.AccessToken)
	assert.Equal(t, "Bearer", tok.TokenType)
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("source", "ts", ts)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		got := fmt.Sprintf(verb, ts)
		assert.Equal(t, "graphclient.StaticToken(redacted)", got, verb)
	}
	assert.NotContains(t, b.String(), "secret")

	_, err = graphclient.StaticToken("").Token(context.Background())
	assert.EqualError(t, err, "graphclient: the token source returned no access token")
}

func TestTokenFunc(t *testing.T) {
	exp := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	calls := 0
	ts := graphclient.TokenFunc(func(ctx context.Context) (string, time.Time, error) {
		calls++
		return "from-my-service", exp, nil
	})
	tok, err := ts.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "from-my-service", tok.AccessToken)
	assert.Equal(t, exp, tok.Expiry)
	assert.Equal(t, 1, calls)
	assert.Equal(t, "graphclient.TokenFunc", fmt.Sprint(ts))

	boom := &m365link.ReconnectError{Reason: m365link.ReasonRevoked}
	_, err = graphclient.TokenFunc(func(context.Context) (string, time.Time, error) { return "", time.Time{}, boom }).Token(context.Background())
	assert.ErrorIs(t, err, m365link.ErrReconnectRequired)
	_, err = graphclient.TokenFunc(func(context.Context) (string, time.Time, error) { return "", time.Time{}, nil }).Token(context.Background())
	assert.EqualError(t, err, "graphclient: the token source returned no access token")
}

func TestNewRefusesABadCloud(t *testing.T) {
	_, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "broken", GraphBase: "ftp://graph.example/v1.0"}})
	assert.EqualError(t, err, `graphclient: cloud broken: graph: base URL "ftp://graph.example/v1.0" must use https`)
	c, err := graphclient.New(graphclient.Config{})
	require.NoError(t, err)
	assert.Equal(t, m365link.Global, c.Cloud())
	assert.Equal(t, "graphclient.Client{global https://graph.microsoft.com/v1.0}", c.String())
}

package tokens_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/tokens"
)

// TestSecretsNeverFormatted formats every value of the package that holds
// a secret — after use, when they hold the most — with %v, %+v, %#v and %s
// and logs it with slog's JSON and text handlers, and looks in all of it
// for every secret: the client secret, a certificate's private key, the
// encryption key, every refresh and access token issued (the one a redeemed code
// brought included) and the ID token.
func TestSecretsNeverFormatted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.idp.SetAccessTokenTTL(time.Minute)

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ring, err := tokens.NewKeyRing(3, key)
	require.NoError(t, err)
	plain := &tokens.Memory{} // an unencrypted store holds tokens in the clear
	encrypted := tokens.NewEncrypted(&tokens.Memory{}, ring)

	cred, err := tokens.ClientSecret(secret)
	require.NoError(t, err)
	certKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"}, NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &certKey.PublicKey, certKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	certCred, err := tokens.ClientCertificate([]*x509.Certificate{cert}, certKey)
	require.NoError(t, err)

	cfg := tokens.Config{ClientID: clientID, Credential: cred, Store: plain, Cloud: fakeCloud(e.idp.URL()),
		Scopes: mailRead, HTTPClient: e.idp.Client()}
	m, err := tokens.NewManager(cfg)
	require.NoError(t, err)
	code := e.idp.IssueCode(clientID, tenantID, userID, redirect, "", "n", mailRead)
	connected, err := m.RedeemCode(ctx, "organizations", code, redirect, "", mailRead)
	require.NoError(t, err)
	require.NoError(t, m.Save(ctx, connected))
	src := m.Source(alice)
	userTok, err := src.Token(ctx)
	require.NoError(t, err)
	appTok, err := m.Source(m365link.Account{TenantID: tenantID}).Token(ctx)
	require.NoError(t, err)
	x := tokens.NewExternal(plain, alice, e.oauth2Config(), &tokens.ExternalOptions{HTTPClient: e.idp.Client()})
	require.NoError(t, x.Save(ctx, e.hostToken(t)))
	extTok, err := x.Token(ctx)
	require.NoError(t, err)
	_, err = encrypted.Put(ctx, tokens.Key{Account: alice, Purpose: tokens.PurposeMSAL}, []byte(extTok.RefreshToken), 0)
	require.NoError(t, err)
	entry, err := encrypted.Get(ctx, tokens.Key{Account: alice, Purpose: tokens.PurposeMSAL})
	require.NoError(t, err)

	secrets := map[string]string{
		"client secret":          secret,
		"ID token":               connected.RawIDToken(),
		"redeemed access token":  connected.AccessToken(),
		"user access token":      userTok.AccessToken,
		"app access token":       appTok.AccessToken,
		"external access token":  extTok.AccessToken,
		"encryption key (hex)":   hex.EncodeToString(key),
		"encryption key (b64)":   base64.StdEncoding.EncodeToString(key),
		"encryption key (bytes)": fmt.Sprint(key),
		"encryption key (raw)":   string(key),
		"certificate key D":      certKey.D.String(),
		"certificate key D hex":  certKey.D.Text(16),
		"certificate key prime":  certKey.Primes[0].String(),
	}
	for i, rt := range e.idp.RefreshTokensIssued(tenantID, userID) {
		secrets[fmt.Sprintf("refresh token %d", i)] = rt
	}
	require.Len(t, secrets, 13+4, "the connection, one refresh, the host's pair and its refresh each issued a refresh token")
	for name, s := range secrets {
		require.NotEmpty(t, s, name)
	}

	// fmt walks into an *http.Client's transport with %s; the one in use
	// has connections whose goroutines the walk would race with.
	printed := cfg
	printed.HTTPClient = &http.Client{Timeout: time.Second}
	values := map[string]any{
		"Manager":                m,
		"Config":                 printed,
		"*Config":                &printed,
		"Credential (secret)":    cred,
		"Credential (cert)":      certCred,
		"*Credential":            &cred,
		"Source":                 src,
		"OAuth2 adapter":         src.OAuth2(time.Second),
		"External":               x,
		"Connected":              connected,
		"*Connected":             &connected,
		"KeyRing":                ring,
		"Encrypted":              encrypted,
		"Memory (plain)":         plain,
		"Entry (decrypted)":      entry,
		"*Entry":                 &entry,
		"ExternalOptions":        tokens.ExternalOptions{HTTPClient: printed.HTTPClient},
		"[]Connected":            []tokens.Connected{connected},
		"map of Entry":           map[string]tokens.Entry{"e": entry},
		"struct holding Manager": struct{ M *tokens.Manager }{m},
	}
	for name, v := range values {
		var out bytes.Buffer
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		slog.New(slog.NewTextHandler(&out, nil)).Info("value", "v", v)
		// slog asks only the value itself for a LogValue; inside a map,
		// encoding/json marshals an Entry's exported Data, as a store that
		// serialises Entry needs it to.
		if name != "map of Entry" {
			slog.New(slog.NewJSONHandler(&out, nil)).Info("value", "v", v)
		}
		for what, s := range secrets {
			for _, enc := range encodings(s) {
				if strings.Contains(out.String(), enc) {
					t.Errorf("%s printed the %s (as %.20q…)", name, what, enc)
					break
				}
			}
		}
	}
}

// encodings are the forms a secret takes when the bytes holding it are
// printed: as text, as fmt prints a []byte with %v (decimal) and %#v
// (0x.. list), as hex, and as base64 (slog's JSON of a []byte) at each of
// the three alignments the secret can have inside a longer slice.
func encodings(s string) []string {
	b := []byte(s)
	out := []string{s, hex.EncodeToString(b),
		strings.Trim(fmt.Sprint(b), "[]"), strings.Trim(fmt.Sprintf("%#v", b), "[]uint8{}")}
	for pad := range 3 {
		e := base64.StdEncoding.EncodeToString(append(make([]byte, pad), b...))
		// Drop the characters that depend on the neighbouring bytes.
		out = append(out, e[4:len(e)-4])
	}
	return out
}

// TestFormattedValues pins what the values print instead.
func TestFormattedValues(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m := e.process(t, nil)
	c := e.connect(t, m)
	raw := &tokens.Memory{}
	ring, err := tokens.NewKeyRing(2, bytes.Repeat([]byte{5}, 32))
	require.NoError(t, err)
	ring, err = ring.WithDecryptOnly(1, bytes.Repeat([]byte{6}, 32))
	require.NoError(t, err)
	enc := tokens.NewEncrypted(raw, ring)
	k := tokens.Key{Account: alice, Purpose: tokens.PurposeMSAL}
	_, err = enc.Put(ctx, k, []byte("0123456789"), 0)
	require.NoError(t, err)
	entry, err := enc.Get(ctx, k)
	require.NoError(t, err)
	x := e.external()

	tests := []struct {
		v        any
		fmt, log string
	}{
		{m, "tokens.Manager{client " + clientID + ", client secret}", `{"client_id":"` + clientID + `","credential":"client secret"}`},
		{m.Source(alice), "tokens.Source{" + tenantID + "/" + userID + "}", `{"account":"` + tenantID + "/" + userID + `"}`},
		{m.Source(alice).OAuth2(time.Second), "tokens.Source{" + tenantID + "/" + userID + "}.OAuth2", `"tokens.Source{` + tenantID + "/" + userID + `}.OAuth2"`},
		{x, "tokens.External{" + tenantID + "/" + userID + "}", `{"account":"` + tenantID + "/" + userID + `"}`},
		{c, "tokens.Connected{" + tenantID + "/" + userID + " alice@contoso.com}",
			`{"account":"` + tenantID + "/" + userID + `","upn":"alice@contoso.com","name":"Alice Buyer","granted_scopes":["https://graph.microsoft.com/Mail.Read"]}`},
		{ring, "tokens.KeyRing{primary: 2, keys: [1 2]}", `{"primary":2,"keys":[1,2]}`},
		{enc, "tokens.Encrypted{tokens.KeyRing{primary: 2, keys: [1 2]} over tokens.Memory{entries: 1}}",
			`{"ring":{"primary":2,"keys":[1,2]},"store":"tokens.Memory{entries: 1}"}`},
		{raw, "tokens.Memory{entries: 1}", `{"entries":1}`},
		{entry, "tokens.Entry{version 1, 10 bytes}", `{"version":1,"bytes":10}`},
	}
	for _, tt := range tests {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			assert.Equal(t, tt.fmt, fmt.Sprintf(verb, tt.v), verb)
		}
		var out bytes.Buffer
		slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{ReplaceAttr: dropTime})).Info("m", "v", tt.v)
		assert.Equal(t, `{"level":"INFO","msg":"m","v":`+tt.log+"}\n", out.String())
	}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

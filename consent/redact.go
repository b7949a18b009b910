package consent

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"
)

// Types that hold a secret (the client secret behind Config.Tokens, the
// HMAC key of SignedStates, the PKCE verifiers and nonces of attempts)
// print a summary without it for every fmt verb and for slog: String,
// GoString, LogValue, and a Format that routes every verb (%d, %x, a typo)
// through them, so none reaches the fields by reflection.

func formatRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}

// String names the app registration and cloud, never a secret.
func (c *Connector) String() string {
	return "consent.Connector{ClientID: " + c.cfg.ClientID + ", Cloud: " + c.cfg.Cloud.Name + "}"
}

// GoString is String, so %#v shows no secret either.
func (c *Connector) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *Connector) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// LogValue logs the client ID and cloud.
func (c *Connector) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.cfg.ClientID), slog.String("cloud", c.cfg.Cloud.Name))
}

// String shows the settings that are not secret: not Tokens (which holds
// the app's credential) nor States (which may hold a key).
func (c Config) String() string {
	return "consent.Config{ClientID: " + c.ClientID + ", Cloud: " + c.Cloud.Name + ", RedirectURI: " + c.RedirectURI +
		", AdminRedirectURI: " + c.AdminRedirectURI + "}"
}

// GoString is String, so %#v shows no secret either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Config) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// LogValue logs the settings String shows.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ClientID), slog.String("cloud", c.Cloud.Name),
		slog.String("redirect_uri", c.RedirectURI), slog.String("admin_redirect_uri", c.AdminRedirectURI))
}

// String shows the attempt's flow, tenant, return path and expiry; never
// its ID (what a state stands for), binding, verifier or nonce.
func (a Attempt) String() string {
	return "consent.Attempt{Flow: " + string(a.Flow) + ", Tenant: " + a.Tenant + ", ReturnTo: " + a.ReturnTo +
		", Expires: " + a.Expires.UTC().Format(time.RFC3339) + "}"
}

// GoString is String, so %#v shows no secret either.
func (a Attempt) GoString() string { return a.String() }

// Format prints String for every verb.
func (a Attempt) Format(f fmt.State, verb rune) { formatRedacted(f, verb, a.String()) }

// LogValue logs what String shows.
func (a Attempt) LogValue() slog.Value {
	return slog.GroupValue(slog.String("flow", string(a.Flow)), slog.String("tenant", a.Tenant),
		slog.String("return_to", a.ReturnTo), slog.Time("expires", a.Expires))
}

// String never shows the key.
func (s *SignedStates) String() string { return "consent.SignedStates{}" }

// GoString is String, so %#v shows no key either.
func (s *SignedStates) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *SignedStates) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s.String()) }

// LogValue logs the type only.
func (s *SignedStates) LogValue() slog.Value { return slog.StringValue(s.String()) }

// String never shows the pending attempts.
func (m *MemoryStates) String() string { return "consent.MemoryStates{}" }

// GoString is String, so %#v shows no attempt either.
func (m *MemoryStates) GoString() string { return m.String() }

// Format prints String for every verb.
func (m *MemoryStates) Format(f fmt.State, verb rune) { formatRedacted(f, verb, m.String()) }

// LogValue logs the type only.
func (m *MemoryStates) LogValue() slog.Value { return slog.StringValue(m.String()) }

package tokens

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	gosync "sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/m365link/m365link"
)

// Connected describes an account whose authorization code was redeemed.
type Connected struct {
	Account m365link.Account
	// UPN and Name come from the ID token.
	UPN  string
	Name string
	// Nonce, Issuer and IDTenantID are the ID token's claims, for the
	// caller to check against what it sent and expects.
	Nonce      string
	Issuer     string
	IDTenantID string
	// GrantedScopes are the scopes the token carries.
	GrantedScopes []string

	rawIDToken  string
	accessToken string
	cache       []byte // MSAL's cache holding the grant, saved by Manager.Save
}

// RawIDToken returns the ID token as issued, for signature verification.
func (c Connected) RawIDToken() string { return c.rawIDToken }

// AccessToken returns the delegated access token the code was redeemed
// for (for the scopes asked of [Manager.RedeemCode]), for a caller that
// must act as the user once before anything is saved, such as the admin
// consent's check of the administrator's roles. It is a secret: never log
// it; String, GoString and LogValue leave it out.
func (c Connected) AccessToken() string { return c.accessToken }

// String names the account and UPN; it never prints the ID token or the
// tokens of the grant.
func (c Connected) String() string {
	return "tokens.Connected{" + c.Account.Key() + " " + c.UPN + "}"
}

// GoString is String, so %#v shows no token either.
func (c Connected) GoString() string { return c.String() }

// LogValue is what slog shows: the account, UPN, name and granted scopes.
func (c Connected) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", c.Account.Key()), slog.String("upn", c.UPN),
		slog.String("name", c.Name), slog.Any("granted_scopes", c.GrantedScopes))
}

// RedeemCode exchanges an authorization code (from the user-connect
// callback) for tokens through MSAL, with the PKCE verifier. It stores
// nothing: the caller checks the result (nonce, tenant) and then calls
// [Manager.Save], which replaces any earlier grant of the account. tenant is the authority tenant the code was requested
// for: a tenant ID when the host knows it, else "organizations" or
// "common"; MSAL files access tokens under that name, so with a generic
// one the first [Source.Token] redeems the refresh token once to get a
// token filed under the account's tenant.
func (m *Manager) RedeemCode(ctx context.Context, tenant, code, redirectURI, verifier string, scopes []string) (Connected, error) {
	mem := &memoryCache{}
	client, err := confidential.New(m.authority+"/"+tenant, m.cfg.ClientID, m.cfg.Credential.cred,
		confidential.WithCache(mem),
		confidential.WithHTTPClient(m.hc),
		confidential.WithInstanceDiscovery(m.discovery))
	if err != nil {
		return Connected{}, fmt.Errorf("tokens: MSAL client: %w", err)
	}
	var opts []confidential.AcquireByAuthCodeOption
	if verifier != "" {
		opts = append(opts, confidential.WithChallenge(verifier))
	}
	cctx, capt := withCapture(ctx)
	res, err := client.AcquireTokenByAuthCode(cctx, code, redirectURI, scopes, opts...)
	if err != nil {
		// Error answers are returned as they are: the caller (the consent
		// flow) maps them for the user.
		ee, ferr := capt.failure(m365link.Account{})
		switch {
		case ferr != nil:
			return Connected{}, ferr
		case ee != nil:
			return Connected{}, ee
		}
		return Connected{}, fmt.Errorf("tokens: redeem code: %w", redact(err))
	}
	oid, tid, ok := strings.Cut(res.Account.HomeAccountID, ".")
	if !ok || oid == "" || tid == "" {
		return Connected{}, errors.New("tokens: redeem code: the answer names no account")
	}
	c := Connected{
		Account:       m365link.Account{TenantID: strings.ToLower(tid), UserID: strings.ToLower(oid)},
		UPN:           res.IDToken.PreferredUsername,
		Name:          res.IDToken.Name,
		Issuer:        res.IDToken.Issuer,
		IDTenantID:    res.IDToken.TenantID,
		GrantedScopes: res.GrantedScopes,
		rawIDToken:    res.IDToken.RawToken,
		accessToken:   res.AccessToken,
		cache:         mem.bytes(),
	}
	c.Nonce = jwtClaim(res.IDToken.RawToken, "nonce")
	return c, nil
}

// Save stores the grant of a redeemed code for its account, replacing any
// earlier one, and resets the account's in-memory state (a
// reconnect-required account is usable again at once).
func (m *Manager) Save(ctx context.Context, c Connected) error {
	if len(c.cache) == 0 {
		return errors.New("tokens: Save needs a Connected returned by RedeemCode")
	}
	if err := m.replace(ctx, Key{Account: c.Account, Purpose: PurposeMSAL}, c.cache); err != nil {
		return err
	}
	m.Forget(c.Account)
	return nil
}

// replace writes data over whatever key holds, retrying compare-and-swap.
func (m *Manager) replace(ctx context.Context, key Key, data []byte) error {
	for range 10 {
		e, err := m.cfg.Store.Get(ctx, key)
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrDecrypt) {
			return err
		}
		if _, err = m.cfg.Store.Put(ctx, key, data, e.Version); err == nil {
			return nil
		} else if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("tokens: save %s: too many concurrent writers", key)
}

// memoryCache holds one MSAL cache in memory while a code is redeemed.
type memoryCache struct {
	mu   gosync.Mutex
	data []byte
}

func (c *memoryCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data == nil {
		return u.Unmarshal([]byte("{}"))
	}
	return u.Unmarshal(c.data)
}

func (c *memoryCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data = b
	return nil
}

func (c *memoryCache) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data
}

// jwtClaim reads one string claim from a JWT's payload without verifying
// it; callers that rely on the claim verify the signature themselves.
func jwtClaim(jwt, name string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims map[string]any
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	v, _ := claims[name].(string)
	return v
}

// Disconnect is how an account or a tenant is disconnected: it deletes
// every stored entry of account (MSAL's grant, an [External]'s token pair,
// refresh claims) and its in-memory state: a delegated account's source
// then fails with [m365link.ReasonNotConnected] until it connects again.
// For an app-only
// account (no UserID) it deletes the whole tenant's entries when the store
// implements [Lister]: users of a tenant whose admin disconnected the
// organisation cannot sync either. The host then drops its own records of
// the account (sync state, subscriptions) and shows the admin
// consent.RevokeInstructions: nothing the app does revokes its grant on
// Microsoft's side.
func (m *Manager) Disconnect(ctx context.Context, account m365link.Account) error {
	keys := []Key{{Account: account, Purpose: PurposeMSAL}, {Account: account, Purpose: PurposeOAuth2}, {Account: account, Purpose: purposeClaim}}
	if account.AppOnly() {
		if l, ok := m.cfg.Store.(Lister); ok {
			keys = keys[:0]
			for k, err := range l.Keys(ctx, account.TenantID) {
				if err != nil {
					return err
				}
				keys = append(keys, k)
			}
		}
	}
	var errs []error
	for _, k := range keys {
		if err := m.cfg.Store.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
		m.Forget(k.Account)
	}
	return errors.Join(errs...)
}

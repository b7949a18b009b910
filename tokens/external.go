package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
)

// ExternalOptions configures an [External] source. The zero value is usable.
type ExternalOptions struct {
	// HTTPClient reaches the token endpoint; nil means http.DefaultClient.
	// The source uses a copy whose CheckRedirect refuses every redirect
	// ([ErrRedirectRefused]); the client itself is not changed.
	HTTPClient *http.Client
	// RefreshBefore is how long before expiry a token is replaced; default 5 minutes.
	RefreshBefore time.Duration
	// Attempts bounds tries of a refresh that fails transiently (5xx, 429,
	// network); default 4.
	Attempts int
}

// External is a token source for a token pair the host obtained with its
// own OAuth stack (not through MSAL). It refreshes with golang.org/x/oauth2
// and persists every rotated refresh token through the Store before handing
// out the new access token — the hook x/oauth2 itself lacks. Like [Source]
// it refreshes once per account across goroutines and processes and reports
// a dead grant as *[m365link.ReconnectError]. Do not use it for an account
// MSAL connected: MSAL keeps its refresh token to itself.
type External struct {
	store    Store
	account  m365link.Account
	key      Key
	cfg      *oauth2.Config
	hc       *http.Client
	tries    int
	owner    string
	claimTTL time.Duration
	hot      hotPath
}

// NewExternal returns a source for account that refreshes through cfg.
func NewExternal(store Store, account m365link.Account, cfg *oauth2.Config, opts *ExternalOptions) *External {
	var o ExternalOptions
	if opts != nil {
		o = *opts
	}
	if o.RefreshBefore <= 0 {
		o.RefreshBefore = 5 * time.Minute
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	x := &External{store: store, account: account, key: Key{Account: account, Purpose: PurposeOAuth2},
		cfg: cfg, hc: noRedirects(o.HTTPClient), tries: o.Attempts, owner: randomID(), claimTTL: claimTTL}
	x.hot.refreshBefore = o.RefreshBefore
	return x
}

// String names the account; never a token.
func (x *External) String() string { return "tokens.External{" + x.account.Key() + "}" }

// GoString is String, so %#v shows no token either.
func (x *External) GoString() string { return x.String() }

// LogValue is what slog shows: the account.
func (x *External) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", x.account.Key()))
}

// Save stores tok (access and refresh token) for the account, replacing
// what was stored, and clears any reconnect-required state: call it when
// the host's own OAuth flow (re)connects the account.
func (x *External) Save(ctx context.Context, tok *oauth2.Token) error {
	if tok == nil || tok.RefreshToken == "" {
		return errors.New("tokens: Save needs a token with a refresh token")
	}
	data, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	for range 10 {
		e, err := x.store.Get(ctx, x.key)
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrDecrypt) {
			return err
		}
		if _, err = x.store.Put(ctx, x.key, data, e.Version); err == nil {
			x.hot.failed.Store(nil)
			x.hot.cur.Store(nil)
			return nil
		} else if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("tokens: save %s: too many concurrent writers", x.key)
}

// Token returns a valid access token, refreshing ahead of expiry.
func (x *External) Token(ctx context.Context) (*oauth2.Token, error) {
	if tok, ok := x.hot.fast(); ok {
		return tok, nil
	}
	return x.hot.token(ctx, x.store, x.key, x.acquire)
}

func (x *External) acquire(ctx context.Context) (*oauth2.Token, int64, error) {
	var tok *oauth2.Token
	var version int64
	c := claimer{store: x.store, account: x.account, owner: x.owner, ttl: x.claimTTL, log: slog.New(slog.DiscardHandler)}
	err := c.withClaim(ctx, func() error {
		e, err := x.store.Get(ctx, x.key)
		switch {
		case errors.Is(err, ErrNotFound):
			return &m365link.ReconnectError{Account: x.account, Reason: m365link.ReasonNotConnected,
				Description: "no stored token for this account: the host must connect it"}
		case errors.Is(err, ErrDecrypt):
			version = e.Version
			return unreadable(x.account, err)
		case err != nil:
			return err
		}
		version = e.Version
		var stored oauth2.Token
		if err := json.Unmarshal(e.Data, &stored); err != nil {
			return fmt.Errorf("tokens: stored token for %s is unreadable: %w", x.key, err)
		}
		// Another process may have refreshed while we waited for the claim.
		if stored.AccessToken != "" && time.Now().Before(stored.Expiry.Add(-x.hot.refreshBefore)) {
			tok = &stored
			return nil
		}
		fresh, err := x.refresh(ctx, stored.RefreshToken)
		if err != nil {
			return err
		}
		data, err := json.Marshal(fresh)
		if err != nil {
			return err
		}
		// The rotated refresh token is saved before anyone sees the new access token.
		if _, err := x.store.Put(ctx, x.key, data, e.Version); err != nil {
			return fmt.Errorf("tokens: save %s: %w", x.key, err)
		}
		tok = fresh
		return nil
	})
	if err != nil {
		return nil, version, err
	}
	return tok, 0, nil
}

func (x *External) refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	if refreshToken == "" {
		return nil, &m365link.ReconnectError{Account: x.account, Reason: m365link.ReasonNotConnected,
			Description: "the stored token has no refresh token"}
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, x.hc)
	for attempt := 1; ; attempt++ {
		// An expired token with only the refresh token makes x/oauth2 refresh.
		tok, err := x.cfg.TokenSource(hctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
		if err == nil {
			if tok.RefreshToken == "" {
				tok.RefreshToken = refreshToken
			}
			return tok, nil
		}
		var rerr *redirectError
		if errors.As(err, &rerr) {
			return nil, rerr
		}
		var re *oauth2.RetrieveError
		answered := errors.As(err, &re) && re.Response != nil
		transient := !answered || re.Response.StatusCode >= 500 || re.Response.StatusCode == 429
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !transient || attempt >= x.tries {
			var ue *url.Error
			switch {
			case answered:
				return nil, classifyAnswer(x.account, parseEndpointError(re.Response.StatusCode, re.Body))
			case errors.As(err, &ue):
				// http.Client's error: the request did not get an answer.
				return nil, &unreachableError{account: x.account, cause: withoutURL(err)}
			}
			return nil, fmt.Errorf("tokens: refresh %s: %w: %w", x.account, m365link.ErrUnavailable, redact(err))
		}
		t := time.NewTimer(rand.N(200*time.Millisecond<<(attempt-1) + 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

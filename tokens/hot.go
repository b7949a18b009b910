package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/m365link/m365link"
)

// hotPath is what every token source shares: a valid token served from
// memory without locks or allocations, one refresh at a time, and a
// remembered reconnect-required failure so that a dead grant does not hit
// the token endpoint on every call.
type hotPath struct {
	refreshBefore time.Duration
	cur           atomic.Pointer[cachedToken]
	failed        atomic.Pointer[failure]
	flight        singleflight.Group
}

type cachedToken struct {
	tok       *oauth2.Token
	refreshAt time.Time
}

type failure struct {
	err     *m365link.ReconnectError
	version int64     // the stored entry's version when it failed
	checked time.Time // last time the store was looked at for a reconnect
}

// acquireFunc refreshes; on failure it also reports the version of the
// stored entry it read, so a later reconnect (a new version) is noticed.
type acquireFunc func(ctx context.Context) (tok *oauth2.Token, failedVersion int64, err error)

// fast returns the cached token while it is valid. Callers try it before
// building the acquire closure, whose allocation the hot path must not pay.
func (h *hotPath) fast() (*oauth2.Token, bool) {
	if c := h.cur.Load(); c != nil && time.Now().Before(c.refreshAt) {
		return c.tok, true
	}
	return nil, false
}

func (h *hotPath) token(ctx context.Context, store Store, key Key, acquire acquireFunc) (*oauth2.Token, error) {
	if tok, ok := h.fast(); ok {
		return tok, nil
	}
	if f := h.failed.Load(); f != nil && !h.reconnected(ctx, store, key, f) {
		return nil, f.err
	}
	ch := h.flight.DoChan("token", func() (any, error) {
		if c := h.cur.Load(); c != nil && time.Now().Before(c.refreshAt) {
			return c.tok, nil
		}
		// The refresh serves every waiting caller, so no one caller's
		// cancellation may cut it short.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		tok, version, err := acquire(rctx)
		if err != nil {
			var re *m365link.ReconnectError
			if errors.As(err, &re) {
				h.failed.Store(&failure{err: re, version: version, checked: time.Now()})
				h.cur.Store(nil)
			}
			return nil, err
		}
		h.cur.Store(&cachedToken{tok: tok, refreshAt: tok.Expiry.Add(-h.refreshBefore)})
		return tok, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oauth2.Token), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reconnected reports whether the account's stored entry changed since it
// failed (someone connected it again); it looks at most once a minute.
func (h *hotPath) reconnected(ctx context.Context, store Store, key Key, f *failure) bool {
	if time.Since(f.checked) < time.Minute {
		return false
	}
	e, err := store.Get(ctx, key)
	if err == nil && e.Version != f.version {
		h.failed.CompareAndSwap(f, nil)
		return true
	}
	h.failed.CompareAndSwap(f, &failure{err: f.err, version: f.version, checked: time.Now()})
	return false
}

// purposeClaim is the store entry processes use to agree who refreshes.
const purposeClaim = "refresh-claim"

// claimTTL is how long a claim lasts unless its holder renews it (every
// third of it, while the refresh runs). It bounds how long a crashed
// refresher holds others back; a slow identity platform cannot outlast it.
const claimTTL = 30 * time.Second

// claim is the stored refresh claim of one account.
type claim struct {
	Owner string `json:"owner"` // the process (Manager or External), for diagnostics
	// Hold names one holding. Only its holder renews or releases it, and a
	// second refresh in the same process (a Source created after
	// Manager.Forget) waits for it like any other process.
	Hold  string `json:"hold,omitempty"`
	Until int64  `json:"until"` // Unix milliseconds; 0 = released
}

// claimer takes refresh claims for one account.
type claimer struct {
	store   Store
	account m365link.Account
	owner   string
	ttl     time.Duration
	log     *slog.Logger
}

// withClaim runs fn while holding the account's refresh claim in the
// store, renewing it until fn returns, so that across processes one
// refreshes and the others, once it is done, find its token in the store.
func (c claimer) withClaim(ctx context.Context, fn func() error) error {
	key := Key{Account: c.account, Purpose: purposeClaim}
	hold := randomID()
	for wait := 20 * time.Millisecond; ; {
		e, err := c.store.Get(ctx, key)
		var cur claim
		switch {
		case errors.Is(err, ErrNotFound):
		case errors.Is(err, ErrDecrypt):
			// Unreadable (sealed under a retired key, or garbled): no one
			// can renew it, so it is free; e.Version still says what to replace.
		case err != nil:
			return err
		default:
			_ = json.Unmarshal(e.Data, &cur)
		}
		now := time.Now()
		if cur.Until > now.UnixMilli() {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			wait = min(wait*2, 500*time.Millisecond)
			continue
		}
		b, _ := json.Marshal(claim{Owner: c.owner, Hold: hold, Until: now.Add(c.ttl).UnixMilli()})
		_, err = c.store.Put(ctx, key, b, e.Version)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		break
	}

	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		c.renew(ctx, key, hold, stop)
	}()
	err := fn()
	close(stop)
	<-stopped

	// Release even when ctx has ended: a held claim would stall other processes.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = c.rewrite(rctx, key, hold, 0)
	return err
}

// renew extends the claim every third of its TTL until stop is closed.
func (c claimer) renew(ctx context.Context, key Key, hold string, stop <-chan struct{}) {
	t := time.NewTicker(c.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ttl/3)
		ours, err := c.rewrite(rctx, key, hold, time.Now().Add(c.ttl).UnixMilli())
		cancel()
		switch {
		case err != nil:
			// Try again at the next tick; the claim is good until then.
			c.log.LogAttrs(ctx, slog.LevelWarn, "tokens: renewing the refresh claim failed",
				slog.String("account", c.account.Key()), slog.String("error", err.Error()))
		case !ours:
			c.log.LogAttrs(ctx, slog.LevelWarn, "tokens: the refresh claim was lost while refreshing; another process may refresh too",
				slog.String("account", c.account.Key()))
			return
		}
	}
}

// rewrite sets the claim's expiry (0 releases it) if the stored claim is
// still hold's, with compare-and-swap on the version it read; it reports
// whether the claim was still hold's.
func (c claimer) rewrite(ctx context.Context, key Key, hold string, until int64) (bool, error) {
	e, err := c.store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrDecrypt) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var cur claim
	if json.Unmarshal(e.Data, &cur) != nil || cur.Hold != hold {
		return false, nil
	}
	b, _ := json.Marshal(claim{Owner: c.owner, Hold: hold, Until: until})
	if _, err := c.store.Put(ctx, key, b, e.Version); errors.Is(err, ErrConflict) {
		return false, nil // someone wrote it since: it expired and was taken, or was deleted
	} else if err != nil {
		return false, err
	}
	return true, nil
}

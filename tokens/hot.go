package tokens

import (
	"context"
	"encoding/json"
	"errors"
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

// claimTTL bounds how long a crashed refresher can hold others back.
const claimTTL = 30 * time.Second

type claim struct {
	Owner string `json:"owner"`
	Until int64  `json:"until"` // Unix milliseconds; 0 = released
}

// withClaim runs fn while holding account's refresh claim in the store, so
// that across processes one refreshes and the others, once it is done, find
// its token in the store.
func withClaim(ctx context.Context, st Store, account m365link.Account, owner string, fn func() error) error {
	key := Key{Account: account, Purpose: purposeClaim}
	var held int64
	for wait := 20 * time.Millisecond; ; {
		e, err := st.Get(ctx, key)
		var cur claim
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			_ = json.Unmarshal(e.Data, &cur)
		}
		now := time.Now()
		if cur.Owner != "" && cur.Owner != owner && cur.Until > now.UnixMilli() {
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
		b, _ := json.Marshal(claim{Owner: owner, Until: now.Add(claimTTL).UnixMilli()})
		v, err := st.Put(ctx, key, b, e.Version)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		held = v
		break
	}
	err := fn()
	b, _ := json.Marshal(claim{Owner: owner})
	// Release even when ctx has ended: a held claim would stall other processes.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = st.Put(rctx, key, b, held)
	return err
}

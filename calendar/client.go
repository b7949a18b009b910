package calendar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/internal/keylock"
)

// TokenSource supplies access tokens for the account a call acts as: the
// one token-source type every package takes (tokens.Source, tokens.External,
// graphclient.StaticToken and graphclient.TokenFunc satisfy it). A
// delegated user's source writes that user's calendar and the calendars
// shared with them; an app-only source (Calendars.ReadWrite application
// permission) any mailbox the app may reach.
type TokenSource = graphclient.TokenSource

// Config configures a [Client]. The zero value works: it makes a Graph
// client for the global cloud.
type Config struct {
	// Client is the process's shared Graph client (cloud, transport,
	// retries, per-mailbox limiter); nil makes one for the global cloud.
	// Share the one sync uses, so that calendar writes and sync count
	// against the same mailbox limits.
	Client *graphclient.Client
	// Logger receives what the package decides on its own (a create
	// found by its key, a join link read again); nil discards it.
	Logger *slog.Logger
	// JoinURLChecks is how many times a Teams meeting created without a
	// join link is read again before [ErrJoinURLMissing]; default 3.
	JoinURLChecks int
	// JoinURLWait is the wait before each of those reads; default 2s.
	JoinURLWait time.Duration
}

// Client creates, changes and cancels meetings, reads availability,
// mailbox time zones and rooms. It is safe for concurrent use; make one
// per process and share it.
//
// Every method takes the token source of the account it acts as and the
// mailbox it acts on: a user ID or UPN. The mailbox names the per-mailbox
// limiter's key, so pass the user ID, as sync does, for both packages'
// requests to count against one mailbox (a UPN is paced as a mailbox of
// its own).
type Client struct {
	gc   *graph.Client
	log  *slog.Logger
	cfg  Config
	wait func(ctx context.Context, d time.Duration) error
	keys keylock.Map // creates with a key, one at a time per key
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	var bad []string
	if cfg.Client != nil && graph.FromHandle(cfg.Client) == nil {
		bad = append(bad, "Client was not made by graphclient.New")
	}
	if cfg.JoinURLChecks < 0 {
		bad = append(bad, "JoinURLChecks is negative; 0 takes the default")
	}
	if cfg.JoinURLWait < 0 {
		bad = append(bad, "JoinURLWait is negative; 0 takes the default")
	}
	if len(bad) > 0 {
		return nil, errors.New("calendar: invalid Config: " + strings.Join(bad, "; "))
	}
	if cfg.Client == nil {
		gc, err := graphclient.New(graphclient.Config{Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("calendar: %w", err)
		}
		cfg.Client = gc
	}
	if cfg.JoinURLChecks == 0 {
		cfg.JoinURLChecks = 3
	}
	if cfg.JoinURLWait == 0 {
		cfg.JoinURLWait = 2 * time.Second
	}
	c := &Client{gc: graph.FromHandle(cfg.Client), log: cfg.Logger, cfg: cfg, wait: sleep}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call sends one request as tok on mailbox's limiter key.
func (c *Client) call(ctx context.Context, tok TokenSource, mailbox string, req *graph.Request, out any) error {
	if tok == nil {
		return errors.New("calendar: no token source")
	}
	req.Token = tok
	req.Mailbox = mailbox
	return c.gc.JSON(ctx, req, out)
}

// maxPages bounds a paged read: a server that keeps sending next links
// must not keep a caller forever.
const maxPages = 1000

// getAll reads every page of a collection.
func getAll[T any](ctx context.Context, c *Client, tok TokenSource, mailbox string, req *graph.Request) ([]T, error) {
	var out []T
	for range maxPages {
		var page struct {
			Value []T    `json:"value"`
			Next  string `json:"@odata.nextLink"`
		}
		if err := c.call(ctx, tok, mailbox, req, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		if page.Next == "" {
			return out, nil
		}
		req = &graph.Request{URL: page.Next, Header: req.Header}
	}
	return nil, fmt.Errorf("calendar: more than %d pages", maxPages)
}

// preferZone is the Prefer header that asks Graph for times in zone (a
// Windows or IANA name). The quotes must be double: single ones earn a 500
// (GRAPH.md, Surprises).
func preferZone(zone string) http.Header {
	if zone == "" {
		return nil
	}
	return http.Header{"Prefer": {`outlook.timezone="` + zone + `"`}}
}

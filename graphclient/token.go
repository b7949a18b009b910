package graphclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/oauth2"
)

// TokenSource supplies access tokens for one account: the shape every
// package takes (sync, consent's connection test, and the packages to
// come). tokens.Source and tokens.External satisfy it; [StaticToken] and
// [TokenFunc] make one without the tokens package. It must be safe for
// concurrent use. Its errors (such as a *m365link.ReconnectError) reach
// the caller wrapped, never retried.
type TokenSource interface {
	Token(ctx context.Context) (*oauth2.Token, error)
}

// StaticToken returns a TokenSource that always gives accessToken: for
// tests and short scripts (it never refreshes). It prints without the
// token. An empty accessToken fails every request with an error, rather
// than sending none.
func StaticToken(accessToken string) TokenSource { return &staticToken{tok: accessToken} }

type staticToken struct{ tok string }

func (s *staticToken) Token(context.Context) (*oauth2.Token, error) {
	if s.tok == "" {
		return nil, errNoToken
	}
	return &oauth2.Token{AccessToken: s.tok, TokenType: "Bearer"}, nil
}

// String, GoString, LogValue and Format never show the token.
func (s *staticToken) String() string             { return "graphclient.StaticToken(redacted)" }
func (s *staticToken) GoString() string           { return s.String() }
func (s *staticToken) LogValue() slog.Value       { return slog.StringValue(s.String()) }
func (s *staticToken) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// TokenFunc adapts a function that returns an access token and when it
// expires (zero if unknown) to a TokenSource, for hosts with a token
// service of their own. The function is called for every request; cache
// in it if fetching is costly.
func TokenFunc(f func(ctx context.Context) (accessToken string, expiry time.Time, err error)) TokenSource {
	return tokenFunc(f)
}

type tokenFunc func(ctx context.Context) (string, time.Time, error)

func (f tokenFunc) Token(ctx context.Context) (*oauth2.Token, error) {
	tok, exp, err := f(ctx)
	if err != nil {
		return nil, err
	}
	if tok == "" {
		return nil, errNoToken
	}
	return &oauth2.Token{AccessToken: tok, TokenType: "Bearer", Expiry: exp}, nil
}

func (f tokenFunc) String() string { return "graphclient.TokenFunc" }

var errNoToken = errors.New("graphclient: the token source returned no access token")

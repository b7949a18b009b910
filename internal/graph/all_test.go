package graph

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
)

// pagesRT answers GETs from a map of URL → body.
type pagesRT map[string]string

func (p pagesRT) RoundTrip(r *http.Request) (*http.Response, error) {
	body, ok := p[r.URL.String()]
	status := http.StatusOK
	if !ok {
		status, body = http.StatusNotFound, `{"error":{"code":"ErrorItemNotFound","message":"no"}}`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func TestAllFollowsNextLinksOnTheOriginOnly(t *testing.T) {
	type item struct {
		ID string `json:"id"`
	}
	rt := pagesRT{
		"https://graph.example/v1.0/users?$top=2":            `{"value":[{"id":"a"},{"id":"b"}],"@odata.nextLink":"https://graph.example/v1.0/users?$skiptoken=2"}`,
		"https://graph.example/v1.0/users?$skiptoken=2":      `{"value":[{"id":"c"}],"@odata.nextLink":"https://graph.example/v1.0/users?$skiptoken=3"}`,
		"https://graph.example/v1.0/users?$skiptoken=3":      `{"value":[]}`,
		"https://graph.example/v1.0/groups?$top=2":           `{"value":[{"id":"g"}],"@odata.nextLink":"https://evil.example/v1.0/groups?$skiptoken=secret"}`,
		"https://evil.example/v1.0/groups?$skiptoken=secret": `{"value":[{"id":"x"}]}`,
	}
	c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: rt}})
	require.NoError(t, err)
	observed := 0
	got, err := All[item](context.Background(), c, &Request{Path: "/users", Query: map[string][]string{"$top": {"2"}}, Observe: func(int) { observed++ }})
	require.NoError(t, err)
	assert.Equal(t, []item{{"a"}, {"b"}, {"c"}}, got)
	assert.Equal(t, 3, observed, "the follow-ups keep the observer")

	_, err = All[item](context.Background(), c, &Request{Path: "/groups", Query: map[string][]string{"$top": {"2"}}})
	require.ErrorIs(t, err, m365link.ErrUntrustedLink)
	assert.NotContains(t, err.Error(), "secret")
}

// A token source that returns an empty token fails the request; nothing
// goes out without the credential it was meant to carry.
func TestEmptyAccessTokenIsNeverSent(t *testing.T) {
	sent := 0
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{}`)), Header: http.Header{}, Request: r}, nil
	})
	c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: rt}})
	require.NoError(t, err)
	empty := TokenSourceFunc(func(context.Context) (*oauth2.Token, error) { return &oauth2.Token{}, nil })
	err = c.JSON(context.Background(), &Request{Path: "/me", Token: empty}, nil)
	assert.EqualError(t, err, "graph: token: the token source returned no access token")
	assert.Zero(t, sent)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A 429 whose Retry-After is longer than the call will wait ends the
// call, and still holds every caller for that mailbox until then.
func TestLongRetryAfterIsSharedWhenTheCallGivesUp(t *testing.T) {
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"300"}, "Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"error":{"code":"ApplicationThrottled","message":"slow down"}}`)), Request: r}, nil
	})
	retries := 0
	c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: rt},
		OnRetry: func(string, int, time.Duration, error) { retries++ }})
	require.NoError(t, err)
	before := time.Now()
	err = c.JSON(context.Background(), &Request{Path: "/users/u1/messages", Mailbox: "u1", Token: TokenSourceFunc(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "t"}, nil
	})}, nil)
	require.ErrorIs(t, err, m365link.ErrThrottled)
	assert.Zero(t, retries, "given up at once: 300 s is past MaxElapsed")
	until := c.Limiter().ThrottledUntil("u1")
	assert.WithinDuration(t, before.Add(300*time.Second), until, 5*time.Second)
	assert.True(t, c.Limiter().ThrottledUntil("u2").IsZero(), "another mailbox is not held")
}

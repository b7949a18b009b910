package fakegraph_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// clock is a settable clock for WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// setup starts a fake with a fixed clock and one mail-enabled user, alice.
func setup(t *testing.T, opts ...fakegraph.Option) (*fakegraph.Server, *fakegraph.User) {
	t.Helper()
	opts = append([]fakegraph.Option{fakegraph.WithClock(func() time.Time { return t0 })}, opts...)
	s := fakegraph.New(opts...)
	t.Cleanup(s.Close)
	tenant := s.AddTenant(fakegraph.Tenant{DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	u := s.AddUser(tenant.ID, fakegraph.User{UPN: "alice@contoso.com", DisplayName: "Alice Smith", MailEnabled: true, AccountEnabled: true})
	return s, u
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

func (r *response) errorCode(t *testing.T) string {
	t.Helper()
	var e graphError
	require.NoError(t, json.Unmarshal(r.Body, &e), string(r.Body))
	return e.Error.Code
}

// page is a collection response.
type page struct {
	Context   string            `json:"@odata.context"`
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
}

func (r *response) page(t *testing.T) page {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var p page
	require.NoError(t, json.Unmarshal(r.Body, &p), string(r.Body))
	return p
}

func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

// do sends a request with a bearer token; hdr are name/value pairs.
func do(t *testing.T, s *fakegraph.Server, method, u string, body io.Reader, hdr ...string) *response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer test-token")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func get(t *testing.T, s *fakegraph.Server, u string, hdr ...string) *response {
	t.Helper()
	return do(t, s, http.MethodGet, u, nil, hdr...)
}

// item is the part of a delta item the tests look at.
type item struct {
	ID      string `json:"id"`
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

// entry renders a delta item as "+id" (present) or "-id" (removed).
func entries(t *testing.T, p page) []string {
	t.Helper()
	out := []string{}
	for _, raw := range p.Value {
		var it item
		require.NoError(t, json.Unmarshal(raw, &it))
		if it.Removed != nil {
			require.Equal(t, "deleted", it.Removed.Reason)
			out = append(out, "-"+it.ID)
		} else {
			out = append(out, "+"+it.ID)
		}
	}
	return out
}

// round follows a delta round from u to its deltaLink, returning the
// entries of each page and the deltaLink.
func round(t *testing.T, s *fakegraph.Server, u string, hdr ...string) (pages [][]string, deltaLink string) {
	t.Helper()
	for i := 0; ; i++ {
		require.Less(t, i, 10000, "round does not end")
		p := get(t, s, u, hdr...).page(t)
		pages = append(pages, entries(t, p))
		if p.DeltaLink != "" {
			require.Empty(t, p.NextLink)
			return pages, p.DeltaLink
		}
		require.NotEmpty(t, p.NextLink)
		u = p.NextLink
	}
}

func plus(ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "+" + id
	}
	return out
}

func minus(ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "-" + id
	}
	return out
}

func concat(parts ...[]string) []string {
	out := []string{}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// msg adds a message received at t0 plus minutes.
func msg(s *fakegraph.Server, user, folder, subject string, minutes int) *fakegraph.Message {
	return s.AddMessage(user, folder, fakegraph.Message{
		Subject:          subject,
		Body:             "<p>Hello about " + subject + "</p>",
		From:             fakegraph.Address{Name: "Bob Vendor", Address: "bob@acme.com"},
		To:               []fakegraph.Address{{Name: "Alice Smith", Address: "alice@contoso.com"}},
		ReceivedDateTime: t0.Add(time.Duration(minutes) * time.Minute),
	})
}

func ids(ms ...*fakegraph.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func userURL(s *fakegraph.Server, u *fakegraph.User, rest string) string {
	return s.URL() + "/users/" + url.PathEscape(u.UPN) + rest
}

// folderID reads a folder's ID through the API.
func folderID(t *testing.T, s *fakegraph.Server, u *fakegraph.User, wellKnown string) string {
	t.Helper()
	obj := get(t, s, userURL(s, u, "/mailFolders/"+wellKnown)).object(t)
	id, _ := obj["id"].(string)
	require.NotEmpty(t, id)
	return id
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// decodeObject decodes one raw item.
func decodeObject(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func hasPrefix(s, prefix string) bool { return strings.HasPrefix(s, prefix) }

// cancelOn returns a context cancelled when ch closes.
func cancelOn(ch <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-ch
		cancel()
	}()
	return ctx
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

func domainOf(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }

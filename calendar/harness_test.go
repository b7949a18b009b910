package calendar_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/calendar"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
)

// sent is one request the client sent, with its body.
type sent struct {
	Method, Path, Query, Prefer string
	Body                        string
}

// recorder records what goes over the wire.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{req.Method, req.URL.EscapedPath(), req.URL.RawQuery, strings.Join(req.Header.Values("Prefer"), ", "), string(body)})
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// methods lists the method and path of each request, "/v1.0" cut.
func methods(ss []sent) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Method + " " + strings.TrimPrefix(s.Path, "/v1.0")
	}
	return out
}

type env struct {
	fake  *fakegraph.Server
	cal   *calendar.Client
	rec   *recorder
	tok   calendar.TokenSource
	alice *fakegraph.User // the organizer
	bob   *fakegraph.User // a colleague
}

var aliceAddr = m365link.EmailAddress{Name: "Alice Smith", Address: "alice@contoso.com"}

// newEnv starts a fake tenant with Alice and Bob and a calendar client on it
// whose retries wait milliseconds.
func newEnv(t *testing.T, retry graphclient.Retry) *env {
	t.Helper()
	fg := fakegraph.New(fakegraph.WithClock(func() time.Time { return time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC) }))
	t.Cleanup(fg.Close)
	tenant := fg.AddTenant(fakegraph.Tenant{DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	alice := fg.AddUser(tenant.ID, fakegraph.User{UPN: "alice@contoso.com", DisplayName: "Alice Smith", MailEnabled: true, AccountEnabled: true})
	bob := fg.AddUser(tenant.ID, fakegraph.User{UPN: "bob@contoso.com", DisplayName: "Bob Jones", MailEnabled: true, AccountEnabled: true})
	rec := &recorder{base: fg.Client().Transport}
	if retry == (graphclient.Retry{}) {
		retry = graphclient.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MinRetryAfter: time.Millisecond}
	}
	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "fake", GraphBase: fg.URL(), GraphResource: fg.Origin()},
		HTTPClient: &http.Client{Transport: rec}, Retry: retry})
	require.NoError(t, err)
	cal, err := calendar.New(calendar.Config{Client: gc, JoinURLWait: time.Millisecond})
	require.NoError(t, err)
	return &env{fake: fg, cal: cal, rec: rec, tok: graphclient.StaticToken("app-token"), alice: alice, bob: bob}
}

// events lists a mailbox's events (single instances and series masters)
// as the fake holds them, read straight from it.
func (e *env) events(t *testing.T, user string) []fakegraph.Event {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.fake.URL()+"/users/"+user+"/events?$select=subject&$top=1000", nil)
	req.Header.Set("Authorization", "Bearer check")
	resp, err := e.fake.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var page struct{ Value []struct{ ID string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	out := []fakegraph.Event{}
	for _, v := range page.Value {
		ev, ok := e.fake.Event(user, v.ID)
		require.True(t, ok)
		out = append(out, ev)
	}
	return out
}

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

// callHashRE and txIDRE match what a create without a Key carries to be found by after a
// lost answer: a random digest in the key-hash property, and a
// transactionId derived from it.
var (
	callHashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	txIDRE     = regexp.MustCompile(`^m365link-[0-9a-f]{32}$`)
)

// withoutCallKey checks the call's own digest and transactionId on a
// keyless create's body and returns the body without them, and the
// transactionId.
func withoutCallKey(t *testing.T, body string) (string, string) {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	var props []struct{ ID, Value string }
	require.NoError(t, json.Unmarshal(m["singleValueExtendedProperties"], &props))
	require.Len(t, props, 1)
	assert.Equal(t, "String {3f6c2a9e-8d41-4b7a-9e05-6a1d2c7b4e93} Name m365link.calendar.keyhash", props[0].ID)
	assert.Regexp(t, callHashRE, props[0].Value)
	var tx string
	require.NoError(t, json.Unmarshal(m["transactionId"], &tx))
	assert.Regexp(t, txIDRE, tx)
	delete(m, "singleValueExtendedProperties")
	delete(m, "transactionId")
	rest, err := json.Marshal(m)
	require.NoError(t, err)
	return string(rest), tx
}

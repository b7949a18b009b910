package fakegraph_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

// receiver is a notification endpoint that answers the validation
// handshake and records what it was posted.
type receiver struct {
	*httptest.Server
	mu          sync.Mutex
	validations []*http.Request
	posts       []string // bodies of notifications
	// answer, when set, replaces the handshake's answer.
	answer func(w http.ResponseWriter, token string)
	// status answers notifications; default 202.
	status []int
}

func newReceiver(t *testing.T) *receiver {
	rv := &receiver{}
	rv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rv.mu.Lock()
		answer := rv.answer
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			rv.validations = append(rv.validations, r)
			rv.mu.Unlock()
			if answer != nil {
				answer(w, tok)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		rv.posts = append(rv.posts, string(body))
		status := http.StatusAccepted
		if len(rv.status) > 0 {
			status, rv.status = rv.status[0], rv.status[1:]
		}
		rv.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rv.Close)
	return rv
}

func (rv *receiver) received() []string {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]string(nil), rv.posts...)
}

func flush(t *testing.T, s *fakegraph.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.FlushNotifications(ctx))
}

// subscribe creates a subscription and returns the decoded answer.
func subscribe(t *testing.T, s *fakegraph.Server, body map[string]any) (*response, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	r := do(t, s, http.MethodPost, s.URL()+"/subscriptions", strings.NewReader(string(b)), "Content-Type", "application/json")
	if r.Status != http.StatusCreated {
		return r, nil
	}
	return r, r.object(t)
}

func subBody(rv *receiver, resource string) map[string]any {
	return map[string]any{
		"changeType": "created,updated,deleted", "notificationUrl": rv.URL + "/notify",
		"resource": resource, "expirationDateTime": t0.Add(time.Hour).Format(time.RFC3339), "clientState": "s3cret",
	}
}

func TestSubscriptionCreate(t *testing.T) {
	s, alice := setup(t)
	rv := newReceiver(t)
	body := subBody(rv, "/users/"+alice.ID+"/messages")
	body["lifecycleNotificationUrl"] = rv.URL + "/lifecycle"
	body["expirationDateTime"] = "2026-12-31T00:00:00.1234567Z" // beyond the maximum: capped
	r, obj := subscribe(t, s, body)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	id, _ := obj["id"].(string)
	require.NotEmpty(t, id)
	assert.Equal(t, map[string]any{
		"@odata.context": s.Origin() + "/v1.0/$metadata#subscriptions/$entity",
		"id":             id, "resource": "/users/" + alice.ID + "/messages",
		"applicationId": "8f3c2d1e-5b6a-4c7d-9e0f-1a2b3c4d5e6f", "changeType": "created,updated,deleted",
		"clientState": "s3cret", "notificationUrl": rv.URL + "/notify", "lifecycleNotificationUrl": rv.URL + "/lifecycle",
		"expirationDateTime": "2026-11-27T10:00:00.0000000Z", "creatorId": alice.ID,
		"latestSupportedTlsVersion": "v1_2", "includeResourceData": nil,
	}, obj)

	rv.mu.Lock()
	require.Len(t, rv.validations, 2)
	for i, path := range []string{"/notify", "/lifecycle"} {
		v := rv.validations[i]
		assert.Equal(t, http.MethodPost, v.Method)
		assert.Equal(t, path, v.URL.Path)
		assert.Equal(t, "text/plain; charset=utf-8", v.Header.Get("Content-Type"))
		assert.True(t, strings.HasPrefix(v.URL.Query().Get("validationToken"), "Validation: Testing client application reachability for subscription Request-Id: "))
	}
	rv.mu.Unlock()

	assert.Equal(t, []fakegraph.Subscription{{ID: id, Resource: "/users/" + alice.ID + "/messages", ChangeType: "created,updated,deleted",
		NotificationURL: rv.URL + "/notify", LifecycleNotificationURL: rv.URL + "/lifecycle", ClientState: "s3cret",
		ExpirationDateTime: t0.Add(fakegraph.MaxSubscriptionLifetime), UserID: alice.ID, TenantID: alice.TenantID}},
		stripped(s.Subscriptions()))
}

// stripped compares subscriptions by their exported fields only.
func stripped(subs []fakegraph.Subscription) []fakegraph.Subscription {
	out := []fakegraph.Subscription{}
	for _, s := range subs {
		out = append(out, fakegraph.Subscription{ID: s.ID, Resource: s.Resource, ChangeType: s.ChangeType,
			NotificationURL: s.NotificationURL, LifecycleNotificationURL: s.LifecycleNotificationURL, ClientState: s.ClientState,
			ExpirationDateTime: s.ExpirationDateTime, UserID: s.UserID, TenantID: s.TenantID, ReauthorizationRequired: s.ReauthorizationRequired})
	}
	return out
}

func TestSubscriptionCreateRefused(t *testing.T) {
	s, alice := setup(t)
	s.SetSubscriptionHandshakeTimeout(200 * time.Millisecond)
	msgs := "/users/" + alice.ID + "/messages"
	cases := []struct {
		name   string
		edit   func(b map[string]any)
		answer func(w http.ResponseWriter, token string)
		status int
		code   string
	}{
		{"wrong token", nil, func(w http.ResponseWriter, _ string) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "nope")
		}, 400, "ValidationError"},
		{"not 200", nil, func(w http.ResponseWriter, tok string) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, tok)
		}, 400, "ValidationError"},
		{"not text/plain", nil, func(w http.ResponseWriter, tok string) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, tok)
		}, 400, "ValidationError"},
		{"too slow", nil, func(w http.ResponseWriter, tok string) {
			time.Sleep(400 * time.Millisecond)
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
		}, 400, "ValidationError"},
		{"lifecycle endpoint fails", func(b map[string]any) { b["lifecycleNotificationUrl"] = "http://127.0.0.1:1/lifecycle" }, nil, 400, "ValidationError"},
		{"clientState too long", func(b map[string]any) { b["clientState"] = strings.Repeat("x", 129) }, nil, 400, "InvalidRequest"},
		{"unsupported resource", func(b map[string]any) { b["resource"] = "/users/" + alice.ID + "/mailFolders" }, nil, 400, "InvalidRequest"},
		{"unknown user", func(b map[string]any) { b["resource"] = "/users/nobody@contoso.com/messages" }, nil, 404, "ResourceNotFound"},
		{"unknown folder", func(b map[string]any) { b["resource"] = "/users/" + alice.ID + "/mailFolders/nope/messages" }, nil, 404, "ResourceNotFound"},
		{"bad changeType", func(b map[string]any) { b["changeType"] = "created,moved" }, nil, 400, "InvalidRequest"},
		{"no changeType", func(b map[string]any) { delete(b, "changeType") }, nil, 400, "InvalidRequest"},
		{"past expiration", func(b map[string]any) { b["expirationDateTime"] = t0.Add(-time.Minute).Format(time.RFC3339) }, nil, 400, "InvalidRequest"},
		{"no notificationUrl", func(b map[string]any) { delete(b, "notificationUrl") }, nil, 400, "InvalidRequest"},
		{"relative notificationUrl", func(b map[string]any) { b["notificationUrl"] = "/notify" }, nil, 400, "InvalidRequest"},
		{"me without a user", func(b map[string]any) { b["resource"] = "me/messages" }, nil, 400, "BadRequest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rv := newReceiver(t)
			rv.answer = c.answer
			b := subBody(rv, msgs)
			if c.edit != nil {
				c.edit(b)
			}
			r, _ := subscribe(t, s, b)
			assert.Equal(t, c.status, r.Status, string(r.Body))
			assert.Equal(t, c.code, r.errorCode(t))
			assert.Empty(t, s.Subscriptions())
		})
	}
}

func TestSubscriptionResourceForms(t *testing.T) {
	s, alice := setup(t)
	s.SetTokenUser(func(string, *http.Request) string { return alice.ID })
	rv := newReceiver(t)
	contacts := s.AddContactFolder(alice.ID, fakegraph.Folder{DisplayName: "Vendors"})
	for _, res := range []string{
		"/users/" + alice.ID + "/messages",
		"users/" + alice.UPN + "/messages",
		"users('" + alice.ID + "')/events",
		"/users/" + alice.ID + "/mailFolders/inbox/messages",
		"/users/" + alice.ID + "/mailFolders('Inbox')/messages",
		"/users/" + alice.ID + "/contacts",
		"/users/" + alice.ID + "/contactFolders/" + contacts.ID + "/contacts",
		"me/messages",
	} {
		r, _ := subscribe(t, s, subBody(rv, res))
		assert.Equal(t, http.StatusCreated, r.Status, "%s: %s", res, r.Body)
	}
	assert.Len(t, s.Subscriptions(), 8)
}

func TestSubscriptionNotifications(t *testing.T) {
	s, alice := setup(t)
	rv := newReceiver(t)
	_, all := subscribe(t, s, subBody(rv, "/users/"+alice.ID+"/messages"))
	inboxOnly := subBody(rv, "/users/"+alice.ID+"/mailFolders/inbox/messages")
	inboxOnly["notificationUrl"] = rv.URL + "/inbox"
	inboxOnly["changeType"] = "created,deleted"
	_, inbox := subscribe(t, s, inboxOnly)
	allID, inboxID := all["id"].(string), inbox["id"].(string)

	m := msg(s, alice.ID, "inbox", "Quote", 0)
	flush(t, s)
	want := func(sid, change, exp string) string {
		return `{"value":[{"subscriptionId":"` + sid + `","subscriptionExpirationDateTime":"` + exp + `","changeType":"` + change +
			`","resource":"Users/` + alice.ID + `/Messages/` + m.ID + `","resourceData":{"@odata.type":"#Microsoft.Graph.Message","@odata.id":"Users/` +
			alice.ID + `/Messages/` + m.ID + `","id":"` + m.ID + `"},"clientState":"s3cret","tenantId":"` + alice.TenantID + `"}]}`
	}
	exp := "2026-11-20T11:00:00.0000000Z"
	assert.ElementsMatch(t, []string{want(allID, "created", exp), want(inboxID, "created", exp)}, rv.received())

	type got struct{ sid, change string }
	changes := func() []got {
		var out []got
		for _, d := range s.NotificationDeliveries() {
			out = append(out, got{d.SubscriptionID, d.ChangeType})
		}
		return out
	}
	s.UpdateMessage(alice.ID, m.ID, func(m *fakegraph.Message) { m.IsRead = true }) // the inbox subscription takes no updates
	flush(t, s)
	s.MoveMessage(alice.ID, m.ID, "archive")
	flush(t, s)
	s.DeleteMessage(alice.ID, m.ID)
	flush(t, s)
	assert.ElementsMatch(t, []got{{allID, "created"}, {inboxID, "created"}, {allID, "updated"}, {allID, "updated"}, {inboxID, "deleted"}, {allID, "deleted"}}, changes())
	for _, d := range s.NotificationDeliveries() {
		assert.Equal(t, fakegraph.NotificationDelivery{SubscriptionID: d.SubscriptionID, ChangeType: d.ChangeType,
			Resource: "Users/" + alice.ID + "/Messages/" + m.ID, Status: 202, Attempts: 1}, d)
	}
	assert.Len(t, rv.received(), 6)
}

func TestSubscriptionEventsAndContacts(t *testing.T) {
	s, alice := setup(t)
	rv := newReceiver(t)
	_, ev := subscribe(t, s, subBody(rv, "/users/"+alice.ID+"/events"))
	_, ct := subscribe(t, s, subBody(rv, "/users/"+alice.ID+"/contacts"))
	e := s.AddEvent(alice.ID, fakegraph.Event{Subject: "Review", Start: t0, End: t0.Add(time.Hour)})
	c := s.AddContact(alice.ID, fakegraph.Contact{DisplayName: "Bob"})
	s.UpdateEvent(alice.ID, e.ID, func(e *fakegraph.Event) { e.Subject = "Review 2" })
	s.UpdateContact(alice.ID, c.ID, func(c *fakegraph.Contact) { c.DisplayName = "Bob V" })
	s.DeleteEvent(alice.ID, e.ID)
	s.DeleteContact(alice.ID, c.ID)
	flush(t, s)
	type got struct{ sid, change, resource string }
	var out []got
	for _, d := range s.NotificationDeliveries() {
		out = append(out, got{d.SubscriptionID, d.ChangeType, d.Resource})
	}
	evID, ctID := ev["id"].(string), ct["id"].(string)
	er, cr := "Users/"+alice.ID+"/Events/"+e.ID, "Users/"+alice.ID+"/Contacts/"+c.ID
	assert.ElementsMatch(t, []got{{evID, "created", er}, {evID, "updated", er}, {evID, "deleted", er},
		{ctID, "created", cr}, {ctID, "updated", cr}, {ctID, "deleted", cr}}, out)
	var n struct {
		Value []struct {
			ResourceData struct {
				Type string `json:"@odata.type"`
			} `json:"resourceData"`
		} `json:"value"`
	}
	types := map[string]int{}
	for _, b := range rv.received() {
		require.NoError(t, json.Unmarshal([]byte(b), &n))
		types[n.Value[0].ResourceData.Type]++
	}
	assert.Equal(t, map[string]int{"#Microsoft.Graph.Event": 3, "#Microsoft.Graph.Contact": 3}, types)
}

func TestSubscriptionReadRenewDelete(t *testing.T) {
	c := &clock{now: t0}
	s, alice := setup(t, fakegraph.WithClock(c.Now))
	rv := newReceiver(t)
	_, obj := subscribe(t, s, subBody(rv, "/users/"+alice.ID+"/messages"))
	id := obj["id"].(string)

	got := get(t, s, s.URL()+"/subscriptions/"+id)
	require.Equal(t, http.StatusOK, got.Status)
	assert.Equal(t, obj, got.object(t))
	list := get(t, s, s.URL()+"/subscriptions").page(t)
	require.Len(t, list.Value, 1)
	assert.Equal(t, s.Origin()+"/v1.0/$metadata#subscriptions", list.Context)
	assert.Equal(t, id, decodeObject(t, list.Value[0])["id"])

	r := do(t, s, http.MethodPatch, s.URL()+"/subscriptions/"+id, strings.NewReader(`{"expirationDateTime":"2026-11-22T10:00:00Z"}`))
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, "2026-11-22T10:00:00.0000000Z", r.object(t)["expirationDateTime"])
	r = do(t, s, http.MethodPatch, s.URL()+"/subscriptions/"+id, strings.NewReader(`{"expirationDateTime":"2027-11-22T10:00:00Z"}`))
	assert.Equal(t, "2026-11-27T10:00:00.0000000Z", r.object(t)["expirationDateTime"], "capped")

	r = do(t, s, http.MethodPost, s.URL()+"/subscriptions/"+id+"/reauthorize", nil)
	assert.Equal(t, http.StatusNoContent, r.Status)
	r = do(t, s, http.MethodDelete, s.URL()+"/subscriptions/"+id, nil)
	assert.Equal(t, http.StatusNoContent, r.Status)
	for _, method := range []string{http.MethodGet, http.MethodDelete, http.MethodPatch} {
		r = do(t, s, method, s.URL()+"/subscriptions/"+id, strings.NewReader(`{"expirationDateTime":"2026-11-22T10:00:00Z"}`))
		assert.Equal(t, http.StatusNotFound, r.Status, method)
		assert.Equal(t, "ResourceNotFound", r.errorCode(t), method)
	}
	assert.Equal(t, http.StatusNotFound, do(t, s, http.MethodPost, s.URL()+"/subscriptions/"+id+"/reauthorize", nil).Status)
	assert.Empty(t, get(t, s, s.URL()+"/subscriptions").page(t).Value)
	assert.Equal(t, 3, s.Stats("").Routes["PATCH /subscriptions/{id}"])
	assert.Equal(t, 2, s.Stats("").Routes["POST /subscriptions/{id}/reauthorize"])

	// An expired subscription delivers nothing and is gone.
	_, obj = subscribe(t, s, subBody(rv, "/users/"+alice.ID+"/messages"))
	c.Advance(time.Hour + time.Second)
	msg(s, alice.ID, "inbox", "late", 0)
	flush(t, s)
	assert.Empty(t, rv.received())
	assert.Equal(t, http.StatusNotFound, get(t, s, s.URL()+"/subscriptions/"+obj["id"].(string)).Status)
	assert.Empty(t, s.Subscriptions())
}

func TestNotificationFaults(t *testing.T) {
	s, alice := setup(t)
	rv := newReceiver(t)
	_, obj := subscribe(t, s, subBody(rv, "/users/"+alice.ID+"/messages"))
	id := obj["id"].(string)

	s.SetNotificationFaults(fakegraph.NotificationFaults{Drop: true})
	m := msg(s, alice.ID, "inbox", "dropped", 0)
	flush(t, s)
	assert.Empty(t, rv.received())
	assert.Equal(t, []fakegraph.NotificationDelivery{{SubscriptionID: id, ChangeType: "created", Resource: "Users/" + alice.ID + "/Messages/" + m.ID, Dropped: true}}, s.NotificationDeliveries())

	s.SetNotificationFaults(fakegraph.NotificationFaults{Duplicate: true})
	msg(s, alice.ID, "inbox", "twice", 0)
	flush(t, s)
	require.Len(t, rv.received(), 2)
	assert.Equal(t, rv.received()[0], rv.received()[1])

	s.SetNotificationFaults(fakegraph.NotificationFaults{Delay: 300 * time.Millisecond})
	start := time.Now()
	msg(s, alice.ID, "inbox", "late", 0)
	assert.Len(t, rv.received(), 2, "not yet")
	flush(t, s)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	assert.Len(t, rv.received(), 3)

	// A failed delivery is retried.
	s.SetNotificationFaults(fakegraph.NotificationFaults{})
	rv.mu.Lock()
	rv.status = []int{http.StatusInternalServerError}
	rv.mu.Unlock()
	msg(s, alice.ID, "inbox", "retried", 0)
	flush(t, s)
	d := s.NotificationDeliveries()
	assert.Equal(t, 202, d[len(d)-1].Status)
	assert.Equal(t, 2, d[len(d)-1].Attempts)
	assert.Len(t, rv.received(), 5)
}

func TestLifecycleEvents(t *testing.T) {
	s, alice := setup(t)
	rv := newReceiver(t)
	body := subBody(rv, "/users/"+alice.ID+"/messages")
	body["lifecycleNotificationUrl"] = rv.URL + "/lifecycle"
	_, obj := subscribe(t, s, body)
	id := obj["id"].(string)
	_, plain := subscribe(t, s, subBody(rv, "/users/"+alice.ID+"/events"))

	require.NoError(t, s.FireLifecycle(id, fakegraph.Missed))
	flush(t, s)
	assert.Equal(t, []string{`{"value":[{"subscriptionId":"` + id + `","subscriptionExpirationDateTime":"2026-11-20T11:00:00.0000000Z","tenantId":"` +
		alice.TenantID + `","clientState":"s3cret","lifecycleEvent":"missed"}]}`}, rv.received())

	// Reauthorization required: changes are held back until reauthorized.
	require.NoError(t, s.FireLifecycle(id, fakegraph.ReauthorizationRequired))
	msg(s, alice.ID, "inbox", "held", 0)
	flush(t, s)
	assert.Len(t, rv.received(), 2, "the lifecycle notification only")
	held := map[string]bool{}
	for _, sub := range s.Subscriptions() {
		held[sub.ID] = sub.ReauthorizationRequired
	}
	assert.Equal(t, map[string]bool{id: true, plain["id"].(string): false}, held)
	require.Equal(t, http.StatusNoContent, do(t, s, http.MethodPost, s.URL()+"/subscriptions/"+id+"/reauthorize", nil).Status)
	msg(s, alice.ID, "inbox", "delivered", 0)
	flush(t, s)
	assert.Len(t, rv.received(), 3)

	require.NoError(t, s.FireLifecycle(id, fakegraph.SubscriptionRemoved))
	flush(t, s)
	assert.Contains(t, rv.received()[3], `"lifecycleEvent":"subscriptionRemoved"`)
	assert.Equal(t, http.StatusNotFound, get(t, s, s.URL()+"/subscriptions/"+id).Status)

	assert.EqualError(t, s.FireLifecycle(id, fakegraph.Missed), `fakegraph: no subscription "`+id+`"`)
	assert.EqualError(t, s.FireLifecycle(plain["id"].(string), fakegraph.Missed), `fakegraph: subscription "`+plain["id"].(string)+`" has no lifecycleNotificationUrl`)
}

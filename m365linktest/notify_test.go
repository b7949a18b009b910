package m365linktest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
)

func TestSubscriptionsAndNotifications(t *testing.T) {
	tenant := m365linktest.New(t)
	alice := tenant.AddUser(m365linktest.User{DisplayName: "Alice Smith"})
	var mu gosync.Mutex
	var bodies []string
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer endpoint.Close()
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies)
	}

	tok, err := tenant.AppToken().Token(ctx)
	require.NoError(t, err)
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	body, _ := json.Marshal(map[string]string{"changeType": "created,updated", "notificationUrl": endpoint.URL,
		"lifecycleNotificationUrl": endpoint.URL + "/lifecycle", "resource": "/users/" + alice.ID + "/messages",
		"expirationDateTime": expires.Format(time.RFC3339), "clientState": "secret"})
	req, _ := http.NewRequest(http.MethodPost, tenant.Cloud().GraphBase+"/subscriptions", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := tenant.HTTPClient().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	subs := tenant.Subscriptions()
	require.Len(t, subs, 1)
	assert.Equal(t, m365linktest.Subscription{ID: subs[0].ID, Mailbox: alice.ID, Resource: "/users/" + alice.ID + "/messages",
		ChangeType: "created,updated", NotificationURL: endpoint.URL, LifecycleURL: endpoint.URL + "/lifecycle", Expires: expires}, subs[0])

	tenant.AddMessage(alice.ID, "inbox", m365link.Message{Subject: "one"})
	require.NoError(t, tenant.FlushNotifications(ctx))
	assert.Equal(t, 1, received())

	tenant.SetNotificationFaults(m365linktest.NotificationFaults{Duplicate: true})
	tenant.AddMessage(alice.ID, "inbox", m365link.Message{Subject: "two"})
	require.NoError(t, tenant.FlushNotifications(ctx))
	assert.Equal(t, 3, received())

	tenant.SetNotificationFaults(m365linktest.NotificationFaults{Drop: true})
	tenant.AddMessage(alice.ID, "inbox", m365link.Message{Subject: "lost"})
	require.NoError(t, tenant.FlushNotifications(ctx))
	assert.Equal(t, 3, received())

	tenant.FireLifecycle(subs[0].ID, m365linktest.ReauthorizationRequired)
	require.NoError(t, tenant.FlushNotifications(ctx))
	assert.Equal(t, 4, received(), "lifecycle events are never dropped")
	assert.True(t, tenant.Subscriptions()[0].ReauthorizationRequired)

	tenant.FireLifecycle(subs[0].ID, m365linktest.SubscriptionRemoved)
	require.NoError(t, tenant.FlushNotifications(ctx))
	assert.Empty(t, tenant.Subscriptions())
	assert.PanicsWithValue(t, `m365linktest: fakegraph: no subscription "`+subs[0].ID+`"`, func() {
		tenant.FireLifecycle(subs[0].ID, m365linktest.Missed)
	})
}

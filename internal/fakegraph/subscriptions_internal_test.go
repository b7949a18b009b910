package fakegraph

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSubscriptionLimitPerMailbox checks the per-mailbox limit with a
// lower one than Outlook's 1,000, which would take a thousand handshakes.
func TestSubscriptionLimitPerMailbox(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	alice := s.AddUser("", User{UPN: "alice@contoso.com", MailEnabled: true})
	bob := s.AddUser("", User{UPN: "bob@contoso.com", MailEnabled: true})
	s.subs.init()
	s.subs.limit = 2
	rv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, r.URL.Query().Get("validationToken"))
	}))
	t.Cleanup(rv.Close)
	create := func(user string) (int, string) {
		b, _ := json.Marshal(map[string]string{"changeType": "created", "notificationUrl": rv.URL, "resource": "users/" + user + "/messages",
			"expirationDateTime": time.Now().Add(time.Hour).Format(time.RFC3339)})
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/subscriptions", strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var e struct{ Error struct{ Code string } }
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &e)
		return resp.StatusCode, e.Error.Code
	}
	for range 2 {
		st, _ := create(alice.ID)
		require.Equal(t, http.StatusCreated, st)
	}
	st, code := create(alice.ID)
	assert.Equal(t, [2]any{http.StatusForbidden, "ExtensionError"}, [2]any{st, code})
	st, _ = create(bob.ID)
	assert.Equal(t, http.StatusCreated, st, "another mailbox has its own limit")
}

func TestParseSubResource(t *testing.T) {
	tests := []struct {
		res  string
		want subResource
	}{
		{"/users/u1/messages", subResource{user: "u1", kind: kindMessage, ok: true}},
		{"Users('u1')/Events", subResource{user: "u1", kind: kindEvent, ok: true}},
		{"me/contacts", subResource{me: true, kind: kindContact, ok: true}},
		{"users/u1/mailFolders('Inbox')/messages", subResource{user: "u1", kind: kindMessage, container: "mailfolders", folderRef: "Inbox", ok: true}},
		{"users/u1/contactFolders/f1/contacts?$select=id", subResource{user: "u1", kind: kindContact, container: "contactfolders", folderRef: "f1", ok: true}},
		{"users/u1/messages/m1", subResource{user: "u1"}},
		{"users/u1/calendars/c1/events", subResource{user: "u1"}},
		{"groups/g1/conversations", subResource{}},
		{"", subResource{}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, parseSubResource(tc.res), tc.res)
	}
}

package fakegraph

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestItemIDShape(t *testing.T) {
	key := hashKey("mailbox:alice")
	var dash, under, pad1, pad2, bare int
	seen := map[string]bool{}
	for n := uint64(1); n <= 300; n++ {
		id := itemID(key, kindMessage, n)
		require.False(t, seen[id], "IDs are unique")
		seen[id] = true
		require.True(t, strings.HasPrefix(id, "AAkALgAAAAAA"), id)
		require.GreaterOrEqual(t, len(id), 100)
		_, err := base64.URLEncoding.DecodeString(id)
		require.NoError(t, err)
		if strings.Contains(id, "-") {
			dash++
		}
		if strings.Contains(id, "_") {
			under++
		}
		switch {
		case strings.HasSuffix(id, "=="):
			pad2++
		case strings.HasSuffix(id, "="):
			pad1++
		default:
			bare++
		}
		if n%2 == 1 {
			require.Contains(t, id, "-_-_", "odd counters always carry both")
		}
	}
	assert.Equal(t, [3]int{100, 100, 100}, [3]int{pad2, pad1, bare})
	assert.GreaterOrEqual(t, dash, 150)
	assert.GreaterOrEqual(t, under, 150)
	assert.Equal(t, itemID(key, kindMessage, 7), itemID(key, kindMessage, 7), "deterministic")
	assert.NotEqual(t, itemID(key, kindMessage, 7), itemID(key, kindEvent, 7))
	assert.NotEqual(t, itemID(key, kindMessage, 7), itemID(hashKey("mailbox:bob"), kindMessage, 7))
	g := guid(hashKey("user"), 1)
	assert.Len(t, g, 36)
	assert.Equal(t, byte('4'), g[14], "version 4 shape")
}

func TestTokenRoundTrip(t *testing.T) {
	s := newServer(nil)
	in := syncState{kind: 'm', scope: 99, gen: 2, from: 10, to: 20, after: 15, emitted: 3, sel: "subject,from", filterOp: 'e', filterAt: -5, start: 1, end: 2}
	tok := s.encodeToken(in)
	out, err := s.decodeToken(tok)
	require.NoError(t, err)
	assert.Equal(t, in, out)
	// Padding stripped by a client is tolerated.
	out, err = s.decodeToken(strings.TrimRight(tok, "="))
	require.NoError(t, err)
	assert.Equal(t, in, out)

	b, _ := base64.URLEncoding.DecodeString(tok)
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x40
		_, err := s.decodeToken(base64.URLEncoding.EncodeToString(c))
		assert.ErrorIs(t, err, errBadToken, "byte %d", i)
	}
	for _, bad := range []string{"", "garbage", "AAAA", tok[:len(tok)/2]} {
		_, err := s.decodeToken(bad)
		assert.ErrorIs(t, err, errBadToken, bad)
	}
}

func TestContainerCompaction(t *testing.T) {
	s := newServer(nil)
	u := s.AddUser("", User{UPN: "alice@contoso.com", MailEnabled: true})
	m1 := s.AddMessage(u.ID, "inbox", Message{Subject: "kept"})
	m2 := s.AddMessage(u.ID, "inbox", Message{Subject: "churn"})
	for range 3000 {
		s.UpdateMessage(u.ID, m2.ID, func(m *Message) { m.IsRead = !m.IsRead })
	}
	s.MoveMessage(u.ID, m1.ID, "archive")
	s.MoveMessage(u.ID, m1.ID, "inbox")
	s.MoveMessage(u.ID, m1.ID, "archive")

	mb := s.userByKey["alice@contoso.com"].mb
	inbox := mb.wellKnown["inbox"]
	assert.Less(t, len(inbox.log), 3000, "stale entries are dropped")
	var live []logEntry
	for _, e := range inbox.log {
		if inbox.live(e, mb.msgState) {
			live = append(live, e)
		}
	}
	require.Len(t, live, 2)
	assert.Equal(t, logEntry{seq: mb.seq, id: m1.ID, removed: true}, live[1])
	assert.Equal(t, m2.ID, live[0].id)
	assert.Equal(t, 1, inbox.total)
	assert.Equal(t, 1, mb.wellKnown["archive"].total)
	assert.Equal(t, [2]int{1, 1}, [2]int{inbox.unread, mb.wellKnown["archive"].unread})
}

func TestParseRoute(t *testing.T) {
	tests := []struct{ path, sig, user, tmpl string }{
		{"/users/alice@x.com/mailFolders/inbox/messages/delta", "users/{}/mailfolders/{}/messages/delta", "alice@x.com", "/users/{id}/mailFolders/{id}/messages/delta"},
		{"/users('O''Brien@x.com')/mailFolders('AA-_==')/messages/delta()", "users/{}/mailfolders/{}/messages/delta", "O'Brien@x.com", "/users/{id}/mailFolders/{id}/messages/delta"},
		{"/Users/u1/CalendarView/Delta", "users/{}/calendarview/delta", "u1", "/users/{id}/calendarView/delta"},
		{"/groups/g1/transitiveMembers/microsoft.graph.user", "groups/{}/transitivemembers/{}", "", "/groups/{id}/transitiveMembers/{id}"},
		{"/me/memberOf/microsoft.graph.directoryRole", "me/memberof/{}", "", "/me/memberOf/{id}"},
		{"/users/u1/memberOf", "users/{}/memberof", "u1", "/users/{id}/memberOf"},
		{"/$batch", "$batch", "", "/$batch"},
		{"/users", "users", "", "/users"},
	}
	for _, tc := range tests {
		rt := parseRoute(tc.path)
		assert.Equal(t, tc.sig, rt.sig, tc.path)
		assert.Equal(t, tc.user, rt.userKey, tc.path)
		assert.Equal(t, tc.tmpl, rt.template(), tc.path)
	}
}

func TestAppendString(t *testing.T) {
	got := string(appendString(nil, "a\"b\\c\n\t\x01é\xff<"))
	assert.Equal(t, `"a\"b\\c\n\t\u0001é\ufffd<"`, got)
}

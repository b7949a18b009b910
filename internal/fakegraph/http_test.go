package fakegraph_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

func TestAuthentication(t *testing.T) {
	s, alice := setup(t)
	u := userURL(s, alice, "/mailFolders")
	for _, auth := range []string{"", "Bearer", "Bearer   ", "Basic abc"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := s.Client().Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, auth)
		r := &response{Status: resp.StatusCode, Body: b}
		assert.Equal(t, "InvalidAuthenticationToken", r.errorCode(t))
	}
	s.SetTokenValidator(func(token string, r *http.Request) bool { return token == "good" })
	assert.Equal(t, http.StatusUnauthorized, get(t, s, u).Status)
	assert.Equal(t, http.StatusOK, get(t, s, u, "Authorization", "bearer good").Status)
	s.SetTokenValidator(nil)
	assert.Equal(t, http.StatusOK, get(t, s, u).Status)
}

func TestRoutingErrors(t *testing.T) {
	s, alice := setup(t)
	off := s.AddUser("", fakegraph.User{UPN: "room@contoso.com", DisplayName: "Room", MailEnabled: false})
	tests := []struct {
		url    string
		status int
		code   string
	}{
		{s.Origin() + "/beta/users", 404, "BadRequest"},
		{s.Origin() + "/users", 404, "BadRequest"},
		{s.URL() + "/nonsense", 400, "BadRequest"},
		{userURL(s, off, "/mailFolders/inbox/messages/delta"), 404, "MailboxNotEnabledForRESTAPI"},
		{userURL(s, off, "/calendarView/delta?startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-02-01T00:00:00Z"), 404, "MailboxNotEnabledForRESTAPI"},
		{s.URL() + "/users/nobody@contoso.com/mailFolders", 404, "ErrorInvalidUser"},
		{s.URL() + "/users/nobody@contoso.com", 404, "Request_ResourceNotFound"},
		{userURL(s, alice, "/mailFolders/nofolder/messages/delta"), 404, "ErrorItemNotFound"},
		{userURL(s, alice, "/messages/AAkALgAAAAAA"), 404, "ErrorItemNotFound"},
		{userURL(s, alice, "/mailFolders/inbox/messages?$top=0"), 400, "BadRequest"},
	}
	for _, tc := range tests {
		r := get(t, s, tc.url)
		assert.Equal(t, tc.status, r.Status, tc.url)
		assert.Equal(t, tc.code, r.errorCode(t), tc.url)
	}
	r := get(t, s, userURL(s, off, "/mailFolders"))
	var e graphError
	require.NoError(t, json.Unmarshal(r.Body, &e))
	assert.Equal(t, "The mailbox is either inactive, soft-deleted, or is hosted on-premise.", e.Error.Message)
	assert.Equal(t, http.StatusOK, get(t, s, userURL(s, off, "")).Status, "the directory still knows the user")
}

func TestKeySyntaxAndCasing(t *testing.T) {
	s, alice := setup(t)
	m := msg(s, alice.ID, "inbox", "hello", 1)
	inbox := folderID(t, s, alice, "inbox")
	for _, path := range []string{
		"/users/" + alice.ID + "/mailFolders/inbox/messages/delta",
		"/USERS/ALICE@CONTOSO.COM/MAILFOLDERS/INBOX/MESSAGES/DELTA",
		"/users('alice@contoso.com')/mailFolders('Inbox')/messages/delta()",
		"/users('" + alice.ID + "')/mailFolders('" + inbox + "')/messages/delta()",
		"/users/alice@contoso.com/mailFolders/" + url.PathEscape(inbox) + "/messages/delta",
	} {
		p := get(t, s, s.URL()+path).page(t)
		assert.Equal(t, plus(m.ID), entries(t, p), path)
	}
	r := get(t, s, s.URL()+"/users('alice@contoso.com')/messages('"+m.ID+"')")
	assert.Equal(t, m.ID, r.object(t)["id"])
}

func TestHeadersAndRecords(t *testing.T) {
	s, alice := setup(t)
	for i := range 3 {
		msg(s, alice.ID, "inbox", "m", i)
	}
	r := get(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta"),
		"Prefer", `odata.maxpagesize=2, IdType="ImmutableId"`, "client-request-id", "abc-123")
	assert.Equal(t, "abc-123", r.Header.Get("client-request-id"))
	assert.Len(t, r.Header.Get("request-id"), 36)
	assert.Equal(t, "odata.maxpagesize=2", r.Header.Get("Preference-Applied"))
	recs := s.Requests()
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, `odata.maxpagesize=2, IdType="ImmutableId"`, rec.Prefer)
	assert.Equal(t, "abc-123", rec.ClientRequestID)
	assert.Equal(t, alice.ID, rec.Mailbox)
	assert.Equal(t, "GET /users/{id}/mailFolders/{id}/messages/delta", rec.Route)
	assert.Equal(t, 200, rec.Status)
	assert.Equal(t, t0, rec.Time)
	assert.Equal(t, "Bearer test-token", rec.Header.Get("Authorization"))
	s.ResetStats()
	assert.Empty(t, s.Requests())
	assert.Equal(t, 0, s.Stats(alice.ID).Requests)
}

func TestGzip(t *testing.T) {
	s, alice := setup(t)
	for i := range 5 {
		msg(s, alice.ID, "inbox", "m", i)
	}
	tr := s.Client().Transport.(*http.Transport).Clone()
	tr.DisableCompression = true // see the raw bytes
	c := &http.Client{Transport: tr}
	fetch := func(enc string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, userURL(s, alice, "/mailFolders/inbox/messages"), nil)
		req.Header.Set("Authorization", "Bearer x")
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}
	plain, plainBody := fetch("")
	assert.Empty(t, plain.Header.Get("Content-Encoding"))
	zipped, zippedBody := fetch("br, gzip;q=0.8")
	assert.Equal(t, "gzip", zipped.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(zippedBody))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, string(plainBody), string(unzipped))
	assert.Less(t, len(zippedBody), len(plainBody))
	refused, _ := fetch("gzip;q=0")
	assert.Empty(t, refused.Header.Get("Content-Encoding"))
}

func TestDirectory(t *testing.T) {
	s := fakegraph.New()
	t.Cleanup(s.Close)
	contoso := s.AddTenant(fakegraph.Tenant{ID: "11111111-1111-4111-8111-111111111111", DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	fabrikam := s.AddTenant(fakegraph.Tenant{DisplayName: "Fabrikam", Domains: []string{"fabrikam.com"}})
	alice := s.AddUser(contoso.ID, fakegraph.User{DisplayName: "Alice Smith", MailEnabled: true, AccountEnabled: true})
	bob := s.AddUser(contoso.ID, fakegraph.User{DisplayName: "Bob Jones", MailEnabled: true})
	carol := s.AddUser(contoso.ID, fakegraph.User{DisplayName: "Carol White"})
	s.AddUser(fabrikam.ID, fakegraph.User{DisplayName: "Frank Fab", MailEnabled: true})
	assert.Equal(t, "alice.smith@contoso.com", alice.UPN)
	assert.Equal(t, "alice.smith@contoso.com", alice.Mail)
	assert.Empty(t, carol.Mail)

	buyers := s.AddGroup(contoso.ID, fakegraph.Group{DisplayName: "Buyers"}, alice.ID, bob.ID)
	all := s.AddGroup(contoso.ID, fakegraph.Group{DisplayName: "All", Mail: "all@contoso.com"}, buyers.ID, carol.UPN, alice.ID)

	type obj struct {
		Type string `json:"@odata.type"`
		ID   string `json:"id"`
		Name string `json:"displayName"`
		UPN  string `json:"userPrincipalName"`
	}
	var members struct {
		Value []obj `json:"value"`
	}
	r := get(t, s, s.URL()+"/groups/"+all.ID+"/transitiveMembers?$select=id,displayName,userPrincipalName")
	require.NoError(t, json.Unmarshal(r.Body, &members), string(r.Body))
	assert.Equal(t, []obj{
		{"#microsoft.graph.group", buyers.ID, "Buyers", ""},
		{"#microsoft.graph.user", carol.ID, "Carol White", carol.UPN},
		{"#microsoft.graph.user", alice.ID, "Alice Smith", alice.UPN},
		{"#microsoft.graph.user", bob.ID, "Bob Jones", bob.UPN},
	}, members.Value)
	members.Value = nil
	r = get(t, s, s.URL()+"/groups/"+all.ID+"/transitiveMembers/microsoft.graph.user?$select=id")
	require.NoError(t, json.Unmarshal(r.Body, &members))
	assert.Len(t, members.Value, 3)
	members.Value = nil
	r = get(t, s, s.URL()+"/groups/"+all.ID+"/members")
	require.NoError(t, json.Unmarshal(r.Body, &members))
	assert.Len(t, members.Value, 3)

	p := get(t, s, s.URL()+"/users?$select=id,accountEnabled&$top=3").page(t)
	assert.Len(t, p.Value, 3)
	assert.JSONEq(t, `{"id":"`+alice.ID+`","accountEnabled":true}`, string(p.Value[0]))
	require.NotEmpty(t, p.NextLink)
	p = get(t, s, p.NextLink).page(t)
	assert.Len(t, p.Value, 1)
	assert.Empty(t, p.NextLink)

	// Scoping the directory to the token's tenant.
	s.SetTokenTenant(func(token string, r *http.Request) string {
		if token == "fabrikam" {
			return fabrikam.ID
		}
		return ""
	})
	p = get(t, s, s.URL()+"/users", "Authorization", "Bearer fabrikam").page(t)
	assert.Len(t, p.Value, 1)
	assert.Equal(t, http.StatusNotFound, get(t, s, s.URL()+"/users/"+alice.ID, "Authorization", "Bearer fabrikam").Status)
	assert.Equal(t, http.StatusNotFound, get(t, s, s.URL()+"/users/"+alice.ID+"/mailFolders", "Authorization", "Bearer fabrikam").Status)
	assert.Len(t, get(t, s, s.URL()+"/groups").page(t).Value, 2)
}

func TestFoldersAndMessageLists(t *testing.T) {
	s, alice := setup(t)
	projects := s.AddFolder(alice.ID, fakegraph.Folder{DisplayName: "Projects", ParentID: "inbox"})
	sub := s.AddFolder(alice.ID, fakegraph.Folder{DisplayName: "Acme", ParentID: projects.ID})
	var ms []*fakegraph.Message
	for i := range 5 {
		ms = append(ms, msg(s, alice.ID, "inbox", "m", i))
	}
	s.UpdateMessage(alice.ID, ms[0].ID, func(m *fakegraph.Message) { m.IsRead = true })
	s.MoveMessage(alice.ID, ms[1].ID, sub.ID)

	inbox := get(t, s, userURL(s, alice, "/mailFolders/inbox")).object(t)
	assert.Equal(t, "Inbox", inbox["displayName"])
	assert.Equal(t, float64(4), inbox["totalItemCount"])
	assert.Equal(t, float64(3), inbox["unreadItemCount"])
	assert.Equal(t, float64(1), inbox["childFolderCount"])

	p := get(t, s, userURL(s, alice, "/mailFolders?$top=4")).page(t)
	var names []string
	for _, raw := range p.Value {
		names = append(names, decodeObject(t, raw)["displayName"].(string))
	}
	assert.Equal(t, []string{"Inbox", "Sent Items", "Drafts", "Deleted Items"}, names)
	p = get(t, s, p.NextLink).page(t)
	assert.Len(t, p.Value, 2, "Archive and Junk Email")

	p = get(t, s, userURL(s, alice, "/mailFolders/"+url.PathEscape(projects.ID)+"/childFolders")).page(t)
	require.Len(t, p.Value, 1)
	assert.Equal(t, float64(1), decodeObject(t, p.Value[0])["totalItemCount"])

	// Newest first, $top/$skip paging.
	p = get(t, s, userURL(s, alice, "/mailFolders/inbox/messages?$top=3&$select=subject")).page(t)
	assert.Equal(t, plus(ms[4].ID, ms[3].ID, ms[2].ID), entries(t, p))
	p = get(t, s, p.NextLink).page(t)
	assert.Equal(t, plus(ms[0].ID), entries(t, p))
	assert.Empty(t, p.NextLink)

	one := get(t, s, userURL(s, alice, "/messages/"+url.PathEscape(ms[2].ID))).object(t)
	assert.Equal(t, "2026-11-20T10:02:00Z", one["receivedDateTime"])
	assert.Equal(t, map[string]any{"emailAddress": map[string]any{"name": "Bob Vendor", "address": "bob@acme.com"}}, one["from"])
	assert.Equal(t, "Hello about m", one["bodyPreview"])
	assert.Equal(t, http.StatusNotFound, get(t, s, userURL(s, alice, "/mailFolders/sentitems/messages/"+url.PathEscape(ms[2].ID))).Status)
}

func TestMemberOf(t *testing.T) {
	const (
		globalAdmin  = "62e90394-69f5-4237-9190-012177145e10"
		privRoleAdmn = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	)
	s := fakegraph.New()
	t.Cleanup(s.Close)
	contoso := s.AddTenant(fakegraph.Tenant{DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	fabrikam := s.AddTenant(fakegraph.Tenant{DisplayName: "Fabrikam", Domains: []string{"fabrikam.com"}})
	roles := []string{globalAdmin, privRoleAdmn}
	carol := s.AddUser(contoso.ID, fakegraph.User{DisplayName: "Carol White", DirectoryRoles: roles})
	roles[0] = "changed after AddUser"
	alice := s.AddUser(contoso.ID, fakegraph.User{DisplayName: "Alice Smith"})
	frank := s.AddUser(fabrikam.ID, fakegraph.User{DisplayName: "Frank Fab", DirectoryRoles: []string{globalAdmin}})
	buyers := s.AddGroup(contoso.ID, fakegraph.Group{DisplayName: "Buyers"}, alice.ID, carol.ID)
	assert.Equal(t, []string{globalAdmin, privRoleAdmn}, carol.DirectoryRoles)

	type obj struct {
		Type     string `json:"@odata.type"`
		ID       string `json:"id"`
		Name     string `json:"displayName,omitempty"`
		Template string `json:"roleTemplateId,omitempty"`
	}
	list := func(u string, hdr ...string) []obj {
		t.Helper()
		var p struct {
			Value []obj `json:"value"`
		}
		r := get(t, s, u, hdr...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.NoError(t, json.Unmarshal(r.Body, &p), string(r.Body))
		return p.Value
	}

	all := list(s.URL() + "/users/" + carol.ID + "/memberOf?$select=displayName,roleTemplateId")
	require.Len(t, all, 3)
	assert.Equal(t, obj{"#microsoft.graph.group", buyers.ID, "Buyers", ""}, all[0])
	assert.Equal(t, obj{"#microsoft.graph.directoryRole", all[1].ID, "Global Administrator", globalAdmin}, all[1])
	assert.Equal(t, obj{"#microsoft.graph.directoryRole", all[2].ID, "Privileged Role Administrator", privRoleAdmn}, all[2])
	assert.NotEqual(t, globalAdmin, all[1].ID, "a role's object ID is not its template ID")
	frankRoles := list(s.URL() + "/users/" + frank.ID + "/memberOf/microsoft.graph.directoryRole")
	require.Len(t, frankRoles, 1)
	assert.NotEqual(t, all[1].ID, frankRoles[0].ID, "each tenant has its own role objects")

	// /me is the user the token acts for.
	assert.Equal(t, http.StatusBadRequest, get(t, s, s.URL()+"/me/memberOf").Status, "no user behind the token")
	s.SetTokenUser(func(token string, _ *http.Request) string {
		switch token {
		case "carol":
			return carol.ID
		case "alice":
			return alice.UPN
		}
		return ""
	})
	r := get(t, s, s.URL()+"/me/memberOf/microsoft.graph.directoryRole?$select=roleTemplateId", "Authorization", "Bearer carol")
	assert.JSONEq(t, `{"@odata.context":"`+s.Origin()+`/v1.0/$metadata#directoryObjects","value":[`+
		`{"@odata.type":"#microsoft.graph.directoryRole","id":"`+all[1].ID+`","roleTemplateId":"`+globalAdmin+`"},`+
		`{"@odata.type":"#microsoft.graph.directoryRole","id":"`+all[2].ID+`","roleTemplateId":"`+privRoleAdmn+`"}]}`, string(r.Body))
	assert.Equal(t, []obj{}, list(s.URL()+"/me/memberOf/microsoft.graph.directoryRole", "Authorization", "Bearer alice"))
	assert.Equal(t, []obj{{"#microsoft.graph.group", buyers.ID, "Buyers", ""}},
		list(s.URL()+"/me/memberOf/microsoft.graph.group?$select=displayName", "Authorization", "Bearer alice"))
	r = get(t, s, s.URL()+"/me/memberOf", "Authorization", "Bearer app-only")
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "BadRequest", r.errorCode(t))
	r = get(t, s, s.URL()+"/me/memberOf/microsoft.graph.device", "Authorization", "Bearer carol")
	assert.Equal(t, http.StatusBadRequest, r.Status)

	// A token of another tenant finds no such user.
	s.SetTokenTenant(func(string, *http.Request) string { return fabrikam.ID })
	r = get(t, s, s.URL()+"/me/memberOf", "Authorization", "Bearer carol")
	assert.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, "Request_ResourceNotFound", r.errorCode(t))
	s.SetTokenTenant(nil)

	// Pages of $top, with links on the fake's origin that keep the cast.
	p := get(t, s, s.URL()+"/me/memberOf/microsoft.graph.directoryRole?$top=1", "Authorization", "Bearer carol").page(t)
	require.Len(t, p.Value, 1)
	require.True(t, hasPrefix(p.NextLink, s.URL()+"/me/memberOf/microsoft.graph.directoryRole?$top=1&$skiptoken="), p.NextLink)
	p = get(t, s, p.NextLink, "Authorization", "Bearer carol").page(t)
	require.Len(t, p.Value, 1)
	assert.Empty(t, p.NextLink)
	assert.Equal(t, privRoleAdmn, decodeObject(t, p.Value[0])["roleTemplateId"])
}

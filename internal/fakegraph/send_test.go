package fakegraph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

const sendKeyProp = "String {2f2a4c1e-7d0b-4c3a-9d5e-0a1b2c3d4e5f} Name M365LinkSendKey"

func sendPost(t *testing.T, s *fakegraph.Server, u string, body any, hdr ...string) *response {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	return do(t, s, http.MethodPost, u, rd, append([]string{"Content-Type", "application/json"}, hdr...)...)
}

type sentMsg struct {
	ID                string `json:"id"`
	Subject           string `json:"subject"`
	IsDraft           bool   `json:"isDraft"`
	ConversationID    string `json:"conversationId"`
	InternetMessageID string `json:"internetMessageId"`
	ParentFolderID    string `json:"parentFolderId"`
	Body              struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"body"`
	To []struct {
		EmailAddress fakegraph.Address `json:"emailAddress"`
	} `json:"toRecipients"`
}

func (r *response) msg(t *testing.T, status int) sentMsg {
	t.Helper()
	require.Equal(t, status, r.Status, string(r.Body))
	var m sentMsg
	require.NoError(t, json.Unmarshal(r.Body, &m))
	return m
}

func draftBody(key string) map[string]any {
	return map[string]any{
		"subject":                       "PO 4711",
		"body":                          map[string]string{"contentType": "HTML", "content": "<p>Please confirm.</p>"},
		"toRecipients":                  []any{map[string]any{"emailAddress": map[string]string{"name": "Bob Vendor", "address": "bob@acme.com"}}},
		"ccRecipients":                  []any{map[string]any{"emailAddress": map[string]string{"address": "carol@acme.com"}}},
		"replyTo":                       []any{map[string]any{"emailAddress": map[string]string{"address": "buying@contoso.com"}}},
		"importance":                    "high",
		"categories":                    []string{"Vendor"},
		"attachments":                   []any{map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "po.txt", "contentType": "text/plain", "contentBytes": "aGVsbG8="}},
		"singleValueExtendedProperties": []any{map[string]string{"id": sendKeyProp, "value": key}},
	}
}

func filterURL(s *fakegraph.Server, user, folder, key string) string {
	f := "singleValueExtendedProperties/Any(ep: ep/id eq '" + sendKeyProp + "' and ep/value eq '" + strings.ReplaceAll(key, "'", "''") + "')"
	return s.URL() + "/users/" + user + "/mailFolders/" + folder + "/messages?$select=id,isDraft&$filter=" + url.QueryEscape(f)
}

func TestDraftSendDeliversOnceAndMovesToSentItems(t *testing.T) {
	s, alice := setup(t)
	draft := sendPost(t, s, s.URL()+"/users/alice@contoso.com/messages", draftBody("k-1")).msg(t, http.StatusCreated)
	require.True(t, draft.IsDraft)
	drafts, _ := s.FolderID(alice.ID, "drafts")
	assert.Equal(t, drafts, draft.ParentFolderID)

	found := get(t, s, filterURL(s, alice.ID, "drafts", "K-1")).page(t)
	require.Len(t, found.Value, 1, "the value compares case-insensitively")
	assert.Empty(t, get(t, s, filterURL(s, alice.ID, "drafts", "k-2")).page(t).Value)
	assert.Empty(t, get(t, s, filterURL(s, alice.ID, "sentitems", "k-1")).page(t).Value)

	res := sendPost(t, s, s.URL()+"/users/"+alice.ID+"/messages/"+url.PathEscape(draft.ID)+"/send", nil)
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	_, ok := s.Message(alice.ID, draft.ID)
	assert.False(t, ok, "the draft is gone")

	sent := get(t, s, filterURL(s, alice.ID, "sentitems", "k-1")).page(t)
	require.Len(t, sent.Value, 1)
	var sm sentMsg
	require.NoError(t, json.Unmarshal(sent.Value[0], &sm))
	assert.False(t, sm.IsDraft)

	want := fakegraph.Delivery{
		Mailbox: alice.ID, SentItemID: sm.ID,
		From:    fakegraph.Address{Name: "Alice Smith", Address: "alice@contoso.com"},
		Sender:  fakegraph.Address{Name: "Alice Smith", Address: "alice@contoso.com"},
		To:      []fakegraph.Address{{Name: "Bob Vendor", Address: "bob@acme.com"}},
		Cc:      []fakegraph.Address{{Address: "carol@acme.com"}},
		ReplyTo: []fakegraph.Address{{Address: "buying@contoso.com"}},
		Subject: "PO 4711", Body: "<p>Please confirm.</p>", BodyContentType: "html", Importance: "high",
		Categories: []string{"Vendor"}, InternetMessageID: draft.InternetMessageID, ConversationID: draft.ConversationID,
		Attachments:        []fakegraph.Attachment{{ID: s.Attachments(alice.ID, sm.ID)[0].ID, Name: "po.txt", ContentType: "text/plain", Content: []byte("hello")}},
		ExtendedProperties: map[string]string{sendKeyProp: "k-1"},
		SentDateTime:       t0,
	}
	assert.Equal(t, []fakegraph.Delivery{want}, s.Deliveries())

	again := sendPost(t, s, s.URL()+"/users/"+alice.ID+"/messages/"+url.PathEscape(draft.ID)+"/send", nil)
	assert.Equal(t, http.StatusNotFound, again.Status)
	assert.Equal(t, "ErrorItemNotFound", again.errorCode(t))
	assert.Len(t, s.Deliveries(), 1, "a second send of the same draft delivers nothing")
}

func TestPropFilterRefusesWhatItCannotRead(t *testing.T) {
	s, alice := setup(t)
	f := "singleValueExtendedProperties/Any(ep: ep/id eq 'x')"
	res := get(t, s, s.URL()+"/users/"+alice.ID+"/messages?$filter="+url.QueryEscape(f))
	assert.Equal(t, http.StatusBadRequest, res.Status)
	assert.Equal(t, "ErrorInvalidUrlQueryFilter", res.errorCode(t))
}

func TestCreateReplyKeepsTheThread(t *testing.T) {
	s, alice := setup(t)
	orig := s.AddMessage(alice.ID, "inbox", fakegraph.Message{
		Subject: "Quote 17", Body: "<p>Our quote.</p>", From: fakegraph.Address{Name: "Bob Vendor", Address: "bob@acme.com"},
		To: []fakegraph.Address{{Address: "alice@contoso.com"}, {Address: "dan@contoso.com"}},
		Cc: []fakegraph.Address{{Address: "erin@acme.com"}}, ReceivedDateTime: t0,
	})
	base := s.URL() + "/users/" + alice.ID + "/messages/" + url.PathEscape(orig.ID)
	reply := sendPost(t, s, base+"/createReply", nil).msg(t, http.StatusCreated)
	assert.Equal(t, "RE: Quote 17", reply.Subject)
	assert.Equal(t, orig.ConversationID, reply.ConversationID)
	assert.Equal(t, "bob@acme.com", reply.To[0].EmailAddress.Address)
	assert.Len(t, reply.To, 1)
	assert.Contains(t, reply.Body.Content, "<p>Our quote.</p>")

	all := sendPost(t, s, base+"/createReplyAll", nil).msg(t, http.StatusCreated)
	var to []string
	for _, r := range all.To {
		to = append(to, r.EmailAddress.Address)
	}
	assert.Equal(t, []string{"bob@acme.com", "dan@contoso.com"}, to)

	fw := sendPost(t, s, base+"/createForward", map[string]any{"message": map[string]any{
		"toRecipients": []any{map[string]any{"emailAddress": map[string]string{"address": "frank@contoso.com"}}}}}).msg(t, http.StatusCreated)
	assert.Equal(t, "FW: Quote 17", fw.Subject)
	assert.Equal(t, orig.ConversationID, fw.ConversationID)

	both := sendPost(t, s, base+"/createReply", map[string]any{"comment": "x", "message": map[string]any{"body": map[string]string{"content": "y"}}})
	assert.Equal(t, http.StatusBadRequest, both.Status)

	require.Equal(t, http.StatusAccepted, sendPost(t, s, s.URL()+"/users/"+alice.ID+"/messages/"+url.PathEscape(reply.ID)+"/send", nil).Status)
	d := s.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, orig.InternetMessageID, d[0].InReplyTo)
	assert.Equal(t, orig.InternetMessageID, d[0].References)
	assert.Equal(t, orig.ConversationID, d[0].ConversationID)
	sentCopy, ok := s.Message(alice.ID, d[0].SentItemID)
	require.True(t, ok)
	assert.Equal(t, orig.ConversationID, sentCopy.ConversationID)
}

func TestSendRights(t *testing.T) {
	s, alice := setup(t)
	shared := s.AddUser("", fakegraph.User{UPN: "purchasing@contoso.com", DisplayName: "Purchasing", MailEnabled: true})
	boss := s.AddUser("", fakegraph.User{UPN: "boss@contoso.com", DisplayName: "The Boss", MailEnabled: true})
	s.SetTokenUser(func(token string, _ *http.Request) string {
		if token == "app" {
			return ""
		}
		return alice.ID
	})
	to := []any{map[string]any{"emailAddress": map[string]string{"address": "bob@acme.com"}}}
	send := func(mailbox string, from string, token string) *response {
		body := map[string]any{"subject": "s", "toRecipients": to}
		if from != "" {
			body["from"] = map[string]any{"emailAddress": map[string]string{"address": from}}
		}
		return sendPost(t, s, s.URL()+"/users/"+mailbox+"/sendMail", map[string]any{"message": body}, "Authorization", "Bearer "+token)
	}
	res := send(shared.UPN, "", "delegated")
	assert.Equal(t, http.StatusForbidden, res.Status)
	assert.Equal(t, "ErrorAccessDenied", res.errorCode(t), "no access to the shared mailbox")

	s.GrantMailbox(shared.ID, alice.ID, fakegraph.MailboxPermission{FullAccess: true})
	res = send(shared.UPN, "", "delegated")
	assert.Equal(t, http.StatusForbidden, res.Status)
	assert.Equal(t, "ErrorSendAsDenied", res.errorCode(t), "access is not send-as")

	s.GrantMailbox(shared.ID, alice.ID, fakegraph.MailboxPermission{FullAccess: true, SendAs: true})
	require.Equal(t, http.StatusAccepted, send(shared.UPN, "", "delegated").Status)

	res = send(alice.ID, boss.UPN, "delegated")
	assert.Equal(t, "ErrorSendAsDenied", res.errorCode(t))
	s.GrantMailbox(boss.ID, alice.ID, fakegraph.MailboxPermission{SendOnBehalf: true})
	require.Equal(t, http.StatusAccepted, send(alice.ID, boss.UPN, "delegated").Status)

	require.Equal(t, http.StatusAccepted, send(boss.UPN, "", "app").Status, "app-only sends as any mailbox")

	d := s.Deliveries()
	require.Len(t, d, 3)
	type fs struct{ mailbox, from, sender string }
	got := []fs{}
	for _, x := range d {
		got = append(got, fs{x.Mailbox, x.From.Address, x.Sender.Address})
	}
	assert.Equal(t, []fs{
		{shared.ID, "purchasing@contoso.com", "purchasing@contoso.com"},
		{alice.ID, "boss@contoso.com", "alice@contoso.com"},
		{boss.ID, "boss@contoso.com", "boss@contoso.com"},
	}, got)
	sentItems, _ := s.FolderID(shared.ID, "sentitems")
	sc, ok := s.Message(shared.ID, d[0].SentItemID)
	require.True(t, ok)
	assert.Equal(t, sentItems, sc.ParentFolderID, "send-as saves to the shared mailbox's Sent Items")
}

func TestSendRefusals(t *testing.T) {
	s, alice := setup(t)
	mk := func(to string, extra map[string]any) string {
		body := map[string]any{"subject": "s", "body": map[string]string{"contentType": "text", "content": "0123456789"}}
		if to != "" {
			body["toRecipients"] = []any{map[string]any{"emailAddress": map[string]string{"address": to}}}
		}
		for k, v := range extra {
			body[k] = v
		}
		return sendPost(t, s, s.URL()+"/users/"+alice.ID+"/messages", body).msg(t, http.StatusCreated).ID
	}
	sendCode := func(id string) (int, string) {
		r := sendPost(t, s, s.URL()+"/users/"+alice.ID+"/messages/"+url.PathEscape(id)+"/send", nil)
		if r.Status == http.StatusAccepted {
			return r.Status, ""
		}
		return r.Status, r.errorCode(t)
	}
	st, code := sendCode(mk("", nil))
	assert.Equal(t, []any{400, "ErrorInvalidRecipients"}, []any{st, code})
	st, code = sendCode(mk("not an address", nil))
	assert.Equal(t, []any{400, "ErrorInvalidRecipients"}, []any{st, code})

	s.SetMaxMessageSize(5)
	st, code = sendCode(mk("bob@acme.com", nil))
	assert.Equal(t, []any{400, "ErrorMessageSizeExceeded"}, []any{st, code})
	s.SetMaxMessageSize(0)

	s.SetSendAllowed(func(string, *http.Request) bool { return false })
	st, code = sendCode(mk("bob@acme.com", nil))
	assert.Equal(t, []any{403, "ErrorAccessDenied"}, []any{st, code})
	s.SetSendAllowed(nil)
	assert.Empty(t, s.Deliveries())

	res := sendPost(t, s, s.URL()+"/users/"+alice.ID+"/sendMail", map[string]any{"saveToSentItems": false,
		"message": map[string]any{"subject": "nosave", "toRecipients": []any{map[string]any{"emailAddress": map[string]string{"address": "bob@acme.com"}}}}})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	d := s.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, "", d[0].SentItemID)
}

func TestAfterServeFaultActsThenFails(t *testing.T) {
	s, alice := setup(t)
	id := sendPost(t, s, s.URL()+"/users/"+alice.ID+"/messages", draftBody("k")).msg(t, http.StatusCreated).ID
	s.Inject(fakegraph.Fault{Route: "/send", Kind: fakegraph.Unavailable503, AfterServe: true, Times: 1})
	res := sendPost(t, s, s.URL()+"/users/"+alice.ID+"/messages/"+url.PathEscape(id)+"/send", nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.Status)
	assert.Len(t, s.Deliveries(), 1, "the send happened before the 503")
}

func TestUploadSessionResumes(t *testing.T) {
	s, alice := setup(t)
	draft := sendPost(t, s, s.URL()+"/users/"+alice.ID+"/messages", map[string]any{"subject": "big"}).msg(t, http.StatusCreated)
	base := s.URL() + "/users/" + alice.ID + "/messages/" + url.PathEscape(draft.ID) + "/attachments/createUploadSession"

	small := sendPost(t, s, base, map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "a", "size": 100}})
	assert.Equal(t, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", small.errorCode(t))

	const size = 9<<20 + 17
	content := make([]byte, size)
	for i := range content {
		content[i] = byte(i * 7)
	}
	res := sendPost(t, s, base, map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "drawing.pdf", "size": size, "contentType": "application/pdf"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	var sess struct {
		UploadURL          string   `json:"uploadUrl"`
		NextExpectedRanges []string `json:"nextExpectedRanges"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &sess))
	assert.Equal(t, []string{"0-"}, sess.NextExpectedRanges)
	assert.True(t, strings.HasPrefix(sess.UploadURL, s.Origin()+"/api/v2.0/Users('"+alice.ID+"')/Messages('"), sess.UploadURL)

	put := func(from, to int, withAuth bool) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodPut, sess.UploadURL, bytes.NewReader(content[from:to]))
		require.NoError(t, err)
		req.Header.Set("Content-Range", "bytes "+strconv.Itoa(from)+"-"+strconv.Itoa(to-1)+"/"+strconv.Itoa(size))
		if withAuth {
			req.Header.Set("Authorization", "Bearer test-token")
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			return nil, nil
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp, b.Bytes()
	}
	next := func() []string {
		resp, err := s.Client().Get(sess.UploadURL)
		require.NoError(t, err)
		defer resp.Body.Close()
		var st struct {
			NextExpectedRanges []string `json:"nextExpectedRanges"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		return st.NextExpectedRanges
	}
	const chunk = 4 << 20
	resp, _ := put(0, chunk, true)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no bearer token on the upload URL")
	resp, body := put(0, chunk, false)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, []string{strconv.Itoa(chunk)}, next())

	s.Inject(fakegraph.Fault{Route: "AttachmentSessions", Kind: fakegraph.ConnReset, Times: 1})
	resp, _ = put(chunk, 2*chunk, false)
	assert.Nil(t, resp, "the chunk was dropped")
	assert.Equal(t, []string{strconv.Itoa(chunk)}, next(), "a dropped chunk is asked for again")
	resp, _ = put(chunk+1, 2*chunk, false)
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	resp, _ = put(chunk, 2*chunk, false)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = put(2*chunk, size, false)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	atts := s.Attachments(alice.ID, draft.ID)
	require.Len(t, atts, 1)
	assert.Equal(t, s.Origin()+"/api/v2.0/Users('"+alice.ID+"')/Messages('"+draft.ID+"')/Attachments('"+atts[0].ID+"')", resp.Header.Get("Location"))
	assert.Equal(t, fakegraph.Attachment{ID: atts[0].ID, Name: "drawing.pdf", ContentType: "application/pdf", Content: content}, atts[0])

	resp2, err := s.Client().Get(sess.UploadURL)
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp2.StatusCode, "a finished session is gone")
}

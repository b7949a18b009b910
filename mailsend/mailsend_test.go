package mailsend_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/mailsend"
)

var (
	ann   = m365link.EmailAddress{Name: "Ann Vendor", Address: "ann@acme.example"}
	carol = m365link.EmailAddress{Name: "Carol", Address: "carol@acme.example"}
	audit = m365link.EmailAddress{Address: "audit@contoso.com"}
	buy   = m365link.EmailAddress{Name: "Buying", Address: "buying@contoso.com"}
)

func addr(a m365link.EmailAddress) fakegraph.Address {
	return fakegraph.Address{Name: a.Name, Address: a.Address}
}

func TestSendNewMessage(t *testing.T) {
	e := newEnv(t)
	s := e.sender(t)
	logo := mailsend.Attachment{Name: "logo.png", ContentType: "image/png", Content: content(2000, 1), ContentID: "logo"}
	po := mailsend.Attachment{Name: "po-4711.pdf", ContentType: "application/pdf", Content: content(100_000, 2)}
	msg := &mailsend.Message{
		Subject: "PO 4711", Body: `<p>Please confirm.</p><img src="cid:logo">`, BodyType: mailsend.HTML,
		To: []m365link.EmailAddress{ann}, Cc: []m365link.EmailAddress{carol}, Bcc: []m365link.EmailAddress{audit},
		ReplyTo: []m365link.EmailAddress{buy}, Importance: mailsend.High, Categories: []string{"Vendor", "PO"},
		Attachments: []mailsend.Attachment{logo, po}, IdempotencyKey: "outbox/1",
	}
	sent, err := s.Send(t.Context(), e.ts, "alice@contoso.com", msg)
	require.NoError(t, err)

	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, sentOf(t, e, d[0], false), sent)
	got := d[0]
	assert.Equal(t, wantFiles(msg.Attachments), files(got.Attachments))
	got.Attachments, got.ExtendedProperties = nil, nil
	me := fakegraph.Address{Name: "Alice Buyer", Address: "alice@contoso.com"}
	assert.Equal(t, fakegraph.Delivery{
		Mailbox: e.alice.ID, SentItemID: sent.ID, From: me, Sender: me,
		To: []fakegraph.Address{addr(ann)}, Cc: []fakegraph.Address{addr(carol)}, Bcc: []fakegraph.Address{addr(audit)},
		ReplyTo: []fakegraph.Address{addr(buy)}, Subject: "PO 4711", Body: msg.Body, BodyContentType: "html",
		Importance: "high", Categories: []string{"Vendor", "PO"},
		InternetMessageID: sent.InternetMessageID, ConversationID: sent.ConversationID, SentDateTime: t0,
	}, got)

	assert.Equal(t, []string{
		"GET /users/{id}/mailFolders/{id}/messages", // Sent Items by key
		"GET /users/{id}/messages",                  // every folder by key: a draft, or a message in transit
		"POST /users/{id}/messages",                 // the draft, attachments inside
		"POST /users/{id}/messages/{id}/send",
		"GET /users/{id}/mailFolders/{id}/messages", // the sent copy
	}, routes(e.fg))
	for _, r := range e.fg.Requests() {
		assert.Equal(t, e.alice.ID, r.Mailbox, "every request names its mailbox, for the shared limiter")
		assert.Contains(t, r.Prefer, `IdType="ImmutableId"`)
	}

	assert.Equal(t, 0, e.folderCount(t, e.alice.ID, "drafts"))
	assert.Equal(t, 1, e.folderCount(t, e.alice.ID, "sentitems"))

	again, err := s.Send(t.Context(), e.ts, "alice@contoso.com", msg)
	require.NoError(t, err)
	assert.Equal(t, sentOf(t, e, d[0], true), again, "the same key returns the message sent before")
	assert.Len(t, e.fg.Deliveries(), 1)
}

func TestSendTextWithoutKey(t *testing.T) {
	e := newEnv(t)
	sent, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, &mailsend.Message{Subject: "Hello", Body: "Plain text", To: []m365link.EmailAddress{ann}})
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, sentOf(t, e, d[0], false), sent)
	assert.Equal(t, []any{"text", "Plain text", "normal"}, []any{d[0].BodyContentType, d[0].Body, d[0].Importance})
}

func TestSendAsSharedMailbox(t *testing.T) {
	e := newEnv(t)
	shared := e.fg.AddUser("", fakegraph.User{UPN: "purchasing@contoso.com", DisplayName: "Purchasing", MailEnabled: true})
	e.fg.SetTokenUser(func(string, *http.Request) string { return e.alice.ID }) // a delegated token of Alice's
	e.fg.GrantMailbox(shared.ID, e.alice.ID, fakegraph.MailboxPermission{FullAccess: true, SendAs: true})

	sent, err := e.sender(t).Send(t.Context(), e.ts, "purchasing@contoso.com", &mailsend.Message{Subject: "RFQ", To: []m365link.EmailAddress{ann}})
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, sentOf(t, e, d[0], false), sent)
	purchasing := fakegraph.Address{Name: "Purchasing", Address: "purchasing@contoso.com"}
	assert.Equal(t, []any{shared.ID, purchasing, purchasing}, []any{d[0].Mailbox, d[0].From, d[0].Sender})
	copySent, ok := e.fg.Message(shared.ID, sent.ID)
	require.True(t, ok, "saved to the shared mailbox's Sent Items")
	sentItems, _ := e.fg.FolderID(shared.ID, "sentitems")
	assert.Equal(t, sentItems, copySent.ParentFolderID)
}

func TestSendOnBehalf(t *testing.T) {
	e := newEnv(t)
	boss := e.fg.AddUser("", fakegraph.User{UPN: "boss@contoso.com", DisplayName: "The Boss", MailEnabled: true})
	e.fg.SetTokenUser(func(string, *http.Request) string { return e.alice.ID })
	e.fg.GrantMailbox(boss.ID, e.alice.ID, fakegraph.MailboxPermission{SendOnBehalf: true})

	_, err := e.sender(t).Send(t.Context(), e.ts, e.alice.UPN, &mailsend.Message{Subject: "Approval",
		From: m365link.EmailAddress{Address: "boss@contoso.com"}, To: []m365link.EmailAddress{ann}})
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, []any{e.alice.ID, fakegraph.Address{Name: "The Boss", Address: "boss@contoso.com"}, fakegraph.Address{Name: "Alice Buyer", Address: "alice@contoso.com"}},
		[]any{d[0].Mailbox, d[0].From, d[0].Sender})
}

func TestRefusalsAreTyped(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(e *env)
		mailbox   string
		msg       mailsend.Message
		kind      error
		also      error // the m365link sentinel, or nil
		graphCode string
	}{
		{name: "send as denied", mailbox: "alice@contoso.com",
			msg: mailsend.Message{From: m365link.EmailAddress{Address: "ceo@contoso.com"}, To: []m365link.EmailAddress{ann}},
			setup: func(e *env) {
				e.fg.AddUser("", fakegraph.User{UPN: "ceo@contoso.com", MailEnabled: true})
			},
			kind: mailsend.ErrSendAsDenied, also: m365link.ErrForbidden, graphCode: "ErrorSendAsDenied"},
		{name: "Mail.Send missing", mailbox: "alice@contoso.com", msg: mailsend.Message{To: []m365link.EmailAddress{ann}},
			setup: func(e *env) { e.fg.SetSendAllowed(func(string, *http.Request) bool { return false }) },
			kind:  mailsend.ErrAccessDenied, also: m365link.ErrForbidden, graphCode: "ErrorAccessDenied"},
		{name: "recipients rejected", mailbox: "alice@contoso.com", msg: mailsend.Message{To: []m365link.EmailAddress{{Address: "ann at acme"}}},
			kind: mailsend.ErrRecipientsRejected, graphCode: "ErrorInvalidRecipients"},
		{name: "message too large", mailbox: "alice@contoso.com",
			msg:   mailsend.Message{To: []m365link.EmailAddress{ann}, Attachments: []mailsend.Attachment{{Name: "big.bin", Content: content(3<<20, 3)}}},
			setup: func(e *env) { e.fg.SetMaxMessageSize(1 << 20) },
			kind:  mailsend.ErrMessageTooLarge, graphCode: "ErrorMessageSizeExceeded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if c.setup != nil {
				c.setup(e)
			}
			c.msg.Subject, c.msg.IdempotencyKey = "refused", "k"
			_, err := e.sender(t).Send(t.Context(), e.ts, c.mailbox, &c.msg)
			require.ErrorIs(t, err, c.kind)
			if c.also != nil {
				assert.ErrorIs(t, err, c.also)
			}
			var ge *m365link.GraphError
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, c.graphCode, ge.Code)
			var me *mailsend.Error
			require.ErrorAs(t, err, &me)
			assert.Equal(t, []string{"send", c.mailbox}, []string{me.Op, me.Mailbox})
			assert.NotContains(t, err.Error(), "test-token")
			assert.Empty(t, e.fg.Deliveries())
			assert.Equal(t, 0, e.folderCount(t, e.alice.ID, "drafts"), "a refused draft is discarded")
		})
	}
}

func TestInvalidCallsNeverReachGraph(t *testing.T) {
	e := newEnv(t)
	s := e.sender(t)
	for _, m := range []*mailsend.Message{
		{Subject: "no recipients"},
		{To: []m365link.EmailAddress{ann}, Attachments: []mailsend.Attachment{{Content: []byte("x")}}},
		{To: []m365link.EmailAddress{ann}, BodyType: "markdown"},
		{To: []m365link.EmailAddress{ann}, Importance: "urgent"},
	} {
		_, err := s.Send(t.Context(), e.ts, e.alice.ID, m)
		assert.ErrorIs(t, err, mailsend.ErrInvalidMessage)
	}
	_, err := s.Forward(t.Context(), e.ts, e.alice.ID, "some-id", &mailsend.Message{Body: "fyi"})
	assert.ErrorIs(t, err, mailsend.ErrInvalidMessage, "a forward needs recipients")
	assert.Empty(t, e.fg.Requests())
}

// vendorThread puts a vendor's quote in Alice's inbox.
func vendorThread(e *env) *fakegraph.Message {
	return e.fg.AddMessage(e.alice.ID, "inbox", fakegraph.Message{
		Subject: "Quote 17", Body: "<html><body><p>Our quote: 1,200 EUR.</p></body></html>", BodyContentType: "html",
		From:              fakegraph.Address{Name: "Ann Vendor", Address: "ann@acme.example"},
		To:                []fakegraph.Address{{Name: "Alice Buyer", Address: "alice@contoso.com"}, {Address: "dan@contoso.com"}},
		Cc:                []fakegraph.Address{{Address: "carol@acme.example"}},
		InternetMessageID: "<quote17@acme.example>", ReceivedDateTime: t0.Add(-time.Hour),
	})
}

func TestReplyLandsInTheSameConversation(t *testing.T) {
	e := newEnv(t)
	orig := vendorThread(e)
	sent, err := e.sender(t).Reply(t.Context(), e.ts, e.alice.ID, orig.ID, &mailsend.Message{
		Body: "Accepted.\nPO follows.", IdempotencyKey: "reply/1"})
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, sentOf(t, e, d[0], false), sent)
	assert.Equal(t, orig.ConversationID, sent.ConversationID, "the reply is in the vendor's conversation")
	assert.Equal(t, []any{"RE: Quote 17", []fakegraph.Address{{Name: "Ann Vendor", Address: "ann@acme.example"}}, []fakegraph.Address(nil),
		"<quote17@acme.example>", "<quote17@acme.example>"},
		[]any{d[0].Subject, d[0].To, d[0].Cc, d[0].InReplyTo, d[0].References})
	assert.Equal(t, "<html><body><div>Accepted.<br>\nPO follows.</div><hr><b>From:</b> Ann Vendor &lt;ann@acme.example&gt;"+
		"<br><b>Sent:</b> Fri, 20 Nov 2026 09:00:00 UTC<br><b>Subject:</b> Quote 17<br><br><p>Our quote: 1,200 EUR.</p></body></html>", d[0].Body,
		"the host's text above the quoted original")
	assert.Equal(t, 0, e.folderCount(t, e.alice.ID, "drafts"))
}

func TestReplyAllAndForward(t *testing.T) {
	e := newEnv(t)
	orig := vendorThread(e)
	s := e.sender(t)
	_, err := s.ReplyAll(t.Context(), e.ts, e.alice.ID, orig.ID, &mailsend.Message{Body: "<p>Thanks all</p>", BodyType: mailsend.HTML,
		Cc: []m365link.EmailAddress{audit}, Importance: mailsend.Low})
	require.NoError(t, err)
	_, err = s.Forward(t.Context(), e.ts, e.alice.ID, orig.ID, &mailsend.Message{Body: "FYI", Subject: "Quote 17 for review",
		To:          []m365link.EmailAddress{{Address: "frank@contoso.com"}},
		Attachments: []mailsend.Attachment{{Name: "notes.txt", ContentType: "text/plain", Content: []byte("notes")}}})
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 2)
	assert.Equal(t, []any{"RE: Quote 17", []fakegraph.Address{{Name: "Ann Vendor", Address: "ann@acme.example"}, {Address: "dan@contoso.com"}},
		[]fakegraph.Address{{Address: "carol@acme.example"}, addr(audit)}, "low", orig.ConversationID},
		[]any{d[0].Subject, d[0].To, d[0].Cc, d[0].Importance, d[0].ConversationID})
	assert.Equal(t, []any{"Quote 17 for review", []fakegraph.Address{{Address: "frank@contoso.com"}}, orig.ConversationID, "<quote17@acme.example>",
		[]file{{Name: "notes.txt", ContentType: "text/plain", Size: 5, SHA256: wantFiles([]mailsend.Attachment{{Content: []byte("notes")}})[0].SHA256}}},
		[]any{d[1].Subject, d[1].To, d[1].ConversationID, d[1].References, files(d[1].Attachments)})
}

func TestTwentyMegabytesThroughAnUploadSessionWithADroppedChunk(t *testing.T) {
	e := newEnv(t)
	big := mailsend.Attachment{Name: "drawings.zip", ContentType: "application/zip", Content: content(20<<20, 4)}
	small := mailsend.Attachment{Name: "terms.txt", ContentType: "text/plain", Content: []byte("net 30")}
	e.fg.Inject(fakegraph.Fault{Route: "AttachmentSessions", Method: http.MethodPut, Kind: fakegraph.ConnReset, Skip: 2, Times: 1})
	msg := &mailsend.Message{Subject: "Drawings", To: []m365link.EmailAddress{ann}, Attachments: []mailsend.Attachment{big, small}, IdempotencyKey: "big"}
	sent, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, msg)
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, sentOf(t, e, d[0], false), sent)
	assert.Equal(t, []file{wantFiles(msg.Attachments)[1], wantFiles(msg.Attachments)[0]}, files(d[0].Attachments),
		"the small one went with the draft, the big one through the session")
	assert.True(t, bytes.Equal(big.Content, d[0].Attachments[1].Content))

	// 20 MiB in chunks of 3.75 MiB: 6 PUTs, one of them sent twice after
	// asking the session where it stood.
	var puts, gets []string
	for _, r := range e.fg.Requests() {
		if strings.Contains(r.Path, "AttachmentSessions") {
			if r.Method == http.MethodPut {
				puts = append(puts, r.Header.Get("Content-Range"))
			} else {
				gets = append(gets, r.Method)
			}
			assert.Empty(t, r.Header.Get("Authorization"), "no bearer token on the upload URL")
			assert.Equal(t, e.alice.ID, r.Mailbox)
		}
	}
	assert.Equal(t, []string{
		"bytes 0-3932159/20971520", "bytes 3932160-7864319/20971520",
		"bytes 7864320-11796479/20971520", // dropped
		"bytes 7864320-11796479/20971520", "bytes 11796480-15728639/20971520",
		"bytes 15728640-19660799/20971520", "bytes 19660800-20971519/20971520",
	}, puts)
	assert.Equal(t, []string{http.MethodGet}, gets)
}

func TestUploadResumesAfterAChunkAcceptedButLost(t *testing.T) {
	e := newEnv(t)
	big := mailsend.Attachment{Name: "spec.pdf", Content: content(5<<20, 5)}
	e.fg.Inject(fakegraph.Fault{Route: "AttachmentSessions", Method: http.MethodPut, Kind: fakegraph.ConnReset, AfterServe: true, Times: 1})
	_, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, &mailsend.Message{To: []m365link.EmailAddress{ann}, Attachments: []mailsend.Attachment{big}})
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, wantFiles([]mailsend.Attachment{big}), files(d[0].Attachments))
}

func TestA503AfterTheSendWasAcceptedDeliversOnce(t *testing.T) {
	e := newEnv(t)
	e.fg.Inject(fakegraph.Fault{Route: "/send", Kind: fakegraph.Unavailable503, RetryAfter: "0", AfterServe: true, Times: 1})
	s := e.sender(t)
	msg := &mailsend.Message{Subject: "Once", To: []m365link.EmailAddress{ann}, IdempotencyKey: "once"}
	sent, err := s.Send(t.Context(), e.ts, e.alice.ID, msg)
	require.NoError(t, err)
	d := e.fg.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, sentOf(t, e, d[0], false), sent)
	assert.Equal(t, 1, e.fg.Stats(e.alice.ID).Routes["POST /users/{id}/messages/{id}/send"], "the send was not repeated")

	again, err := e.sender(t).Send(t.Context(), e.ts, e.alice.ID, msg)
	require.NoError(t, err)
	assert.Equal(t, sentOf(t, e, d[0], true), again)
	assert.Len(t, e.fg.Deliveries(), 1)
}

func TestGraphClientIsShared(t *testing.T) {
	_, err := mailsend.New(mailsend.Config{ChunkSize: 5 << 20})
	assert.ErrorContains(t, err, "ChunkSize")
	s, err := mailsend.New(mailsend.Config{})
	require.NoError(t, err)
	_, err = s.Send(t.Context(), nil, "a@b.example", &mailsend.Message{To: []m365link.EmailAddress{ann}})
	assert.True(t, errors.Is(err, mailsend.ErrInvalidMessage))
}

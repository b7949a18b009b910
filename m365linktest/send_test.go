package m365linktest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/mailsend"
)

func TestSentMailAfterALostAnswer(t *testing.T) {
	tenant := m365linktest.New(t)
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com", DisplayName: "Alice Buyer"})
	tenant.Inject(m365linktest.Fault{Kind: m365linktest.Unavailable, Route: "/send", AfterServe: true, Times: 1})
	sender, err := mailsend.New(mailsend.Config{Client: tenant.Graph()})
	require.NoError(t, err)
	sent, err := sender.Send(t.Context(), tenant.AppToken(), "alice@contoso.com", &mailsend.Message{
		Subject: "PO 1", Body: "hi", To: []m365link.EmailAddress{{Name: "Ann", Address: "ann@acme.example"}},
		Attachments:    []mailsend.Attachment{{Name: "logo.png", ContentType: "image/png", Content: []byte{1, 2, 3}, ContentID: "logo"}},
		IdempotencyKey: "k1"})
	require.NoError(t, err)
	mail := tenant.SentMail()
	require.Len(t, mail, 1, "the send went out once although its answer was a 503")
	alice := m365link.EmailAddress{Name: "Alice Buyer", Address: "alice@contoso.com"}
	assert.Equal(t, m365linktest.SentMail{
		Mailbox: mail[0].Mailbox, SentItemID: sent.ID, From: alice, Sender: alice,
		To: []m365link.EmailAddress{{Name: "Ann", Address: "ann@acme.example"}}, Subject: "PO 1", Body: "hi",
		BodyContentType: "text", Importance: "normal", InternetMessageID: sent.InternetMessageID, ConversationID: sent.ConversationID,
		Attachments: []m365linktest.SentAttachment{{Name: "logo.png", ContentType: "image/png", ContentID: "logo", IsInline: true, Content: []byte{1, 2, 3}}},
		SentAt:      sent.SentAt,
	}, mail[0])
	got, ok := tenant.Message("alice@contoso.com", sent.ID)
	require.True(t, ok)
	assert.Equal(t, tenant.FolderID("alice@contoso.com", "sentitems"), got.FolderID)
}

// App-only Mail.Send sends as any mailbox, a shared one included.
func TestAppOnlySendsAsASharedMailbox(t *testing.T) {
	tenant := m365linktest.New(t)
	tenant.AddUser(m365linktest.User{UPN: "purchasing@contoso.com", DisplayName: "Purchasing"})
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	sender, err := mailsend.New(mailsend.Config{Client: tenant.Graph()})
	require.NoError(t, err)
	_, err = sender.Send(t.Context(), tenant.AppToken(), "purchasing@contoso.com", &mailsend.Message{To: []m365link.EmailAddress{{Address: "ann@acme.example"}}})
	require.NoError(t, err)
	mail := tenant.SentMail()
	require.Len(t, mail, 1)
	assert.Equal(t, m365link.EmailAddress{Name: "Purchasing", Address: "purchasing@contoso.com"}, mail[0].From)
}

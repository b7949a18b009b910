package mailsend_test

import (
	"context"
	"fmt"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/mailsend"
)

// A buyer answers a vendor's quote from the host app: the reply lands in
// the vendor's thread (same conversation, In-Reply-To the quote), and the
// host keeps the IDs that link it to the vendor.
func ExampleSender_Reply() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com", DisplayName: "Alice Buyer"})
	quote := tenant.AddMessage(alice.UPN, "inbox", m365link.Message{Subject: "Quote 17", InternetMessageID: "<quote17@acme.example>",
		From: m365link.EmailAddress{Name: "Ann", Address: "ann@acme.example"}, To: []m365link.EmailAddress{{Address: alice.UPN}}})

	sender, err := mailsend.New(mailsend.Config{Client: tenant.Graph()})
	if err != nil {
		panic(err)
	}
	sent, err := sender.Reply(context.Background(), tenant.AppToken(), alice.UPN, quote.ID, &mailsend.Message{
		Body: "Accepted. The PO follows.", IdempotencyKey: "vendor-17/reply-1"})
	if err != nil {
		panic(err)
	}
	fmt.Println("same conversation:", sent.ConversationID == quote.ConversationID, "in Sent Items:", sent.ID != "")

	mail := tenant.SentMail()
	fmt.Println(len(mail), mail[0].Subject, "to", mail[0].To[0].Address, "in reply to", mail[0].InReplyTo)
	// Output:
	// same conversation: true in Sent Items: true
	// 1 RE: Quote 17 to ann@acme.example in reply to <quote17@acme.example>
}

// Sending a purchase order with a file, under the host's outbox key: a
// retry of the same key (after a timeout, a 503 or a crash) returns the
// message sent the first time instead of sending another.
func ExampleSender_Send() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com", DisplayName: "Alice Buyer"})
	sender, _ := mailsend.New(mailsend.Config{Client: tenant.Graph()})

	po := &mailsend.Message{
		Subject: "PO 4711", Body: "<p>Please confirm delivery by Friday.</p>", BodyType: mailsend.HTML,
		To:          []m365link.EmailAddress{{Name: "Ann", Address: "ann@acme.example"}},
		Attachments: []mailsend.Attachment{{Name: "po-4711.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.7 …")}},
		Importance:  mailsend.High, IdempotencyKey: "outbox/4711",
	}
	first, err := sender.Send(context.Background(), tenant.AppToken(), "alice@contoso.com", po)
	fmt.Println(err, first.Replayed)
	again, err := sender.Send(context.Background(), tenant.AppToken(), "alice@contoso.com", po)
	fmt.Println(err, again.Replayed, again.ID == first.ID, len(tenant.SentMail()))
	// Output:
	// <nil> false
	// <nil> true true 1
}

package m365linktest

import (
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
)

// SentMail is one message the tenant's Graph sent: what a host's test
// asserts after sending, replying or forwarding through package mailsend.
type SentMail struct {
	// Mailbox is the user ID of the mailbox it was sent from; SentItemID
	// is its copy in that mailbox's Sent Items ("" when none was kept).
	Mailbox    string
	SentItemID string
	From       m365link.EmailAddress
	// Sender differs from From when a user sent on behalf of From.
	Sender  m365link.EmailAddress
	To      []m365link.EmailAddress
	Cc      []m365link.EmailAddress
	Bcc     []m365link.EmailAddress
	ReplyTo []m365link.EmailAddress
	Subject string
	Body    string
	// BodyContentType is "text" or "html".
	BodyContentType   string
	Importance        string
	Categories        []string
	InternetMessageID string
	ConversationID    string
	// InReplyTo and References thread a reply or forward to the original.
	InReplyTo   string
	References  string
	Attachments []SentAttachment
	SentAt      time.Time
}

// SentAttachment is a file a sent message carried.
type SentAttachment struct {
	Name        string
	ContentType string
	// ContentID is set for an inline image.
	ContentID string
	IsInline  bool
	Content   []byte
}

// SentMail returns every message sent so far, oldest first: a test
// asserts how many went out (one, after retries) and what they said.
func (t *Tenant) SentMail() []SentMail {
	ds := t.graph.Deliveries()
	out := make([]SentMail, len(ds))
	for i, d := range ds {
		s := SentMail{Mailbox: d.Mailbox, SentItemID: d.SentItemID, From: emailAddress(d.From), Sender: emailAddress(d.Sender),
			To: emailAddresses(d.To), Cc: emailAddresses(d.Cc), Bcc: emailAddresses(d.Bcc), ReplyTo: emailAddresses(d.ReplyTo),
			Subject: d.Subject, Body: d.Body, BodyContentType: d.BodyContentType, Importance: d.Importance,
			Categories: d.Categories, InternetMessageID: d.InternetMessageID, ConversationID: d.ConversationID,
			InReplyTo: d.InReplyTo, References: d.References, SentAt: d.SentDateTime}
		for _, a := range d.Attachments {
			s.Attachments = append(s.Attachments, SentAttachment{Name: a.Name, ContentType: a.ContentType, ContentID: a.ContentID,
				IsInline: a.IsInline, Content: a.Content})
		}
		out[i] = s
	}
	return out
}

// MailboxRights are what a delegate may do with another user's mailbox.
type MailboxRights struct {
	// FullAccess lets the delegate's delegated token work in the mailbox.
	FullAccess bool
	// SendAs lets the delegate send as the mailbox.
	SendAs bool
	// SendOnBehalf lets the delegate send on behalf of the mailbox's user.
	SendOnBehalf bool
}

// GrantMailbox gives delegate (a user ID or UPN) rights on owner's mailbox,
// e.g. Full Access and Send As on a shared mailbox. Without them Graph
// refuses a send as owner with ErrorSendAsDenied. (App-only tokens may
// send as any mailbox, as Graph's application permission Mail.Send does.)
func (t *Tenant) GrantMailbox(owner, delegate string, r MailboxRights) {
	t.graph.GrantMailbox(owner, delegate, fakegraph.MailboxPermission{FullAccess: r.FullAccess, SendAs: r.SendAs, SendOnBehalf: r.SendOnBehalf})
}

// SetMaxMessageSize sets the tenant's message size limit (default 35 MB);
// a larger message is refused at send time. n <= 0 restores the default.
func (t *Tenant) SetMaxMessageSize(n int64) { t.graph.SetMaxMessageSize(n) }

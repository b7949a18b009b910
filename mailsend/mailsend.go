package mailsend

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/internal/keylock"
)

// Size limits Graph sets on attachments.
const (
	// MaxAttachmentSize is the largest attachment Graph takes, through an
	// upload session: 150 MB. (The tenant's message size limit, 35 MB by
	// default, may refuse a smaller message at send time.)
	MaxAttachmentSize = 150 << 20
	// InlineAttachmentLimit is the size from which an attachment goes
	// through an upload session instead of inside a request: Graph takes
	// attachments of up to 3 MB in a request and upload sessions from 3 MB.
	InlineAttachmentLimit = 3 << 20
	// DefaultChunkSize is the upload session chunk: 12 × 320 KiB, under
	// Graph's 4 MB per PUT.
	DefaultChunkSize = 12 * 320 << 10
	// maxChunkSize is Graph's limit for one PUT.
	maxChunkSize = 4 << 20
)

// Config configures a [Sender]. The zero value (apart from Client, which
// hosts share) is ready to use.
type Config struct {
	// Client is the process's shared Graph client: its cloud, transport,
	// retries and per-mailbox limiter, shared with sync and calendar so a
	// mailbox's throttling slows every package; nil makes one for the
	// global cloud with defaults.
	Client *graphclient.Client
	// Logger receives the decisions of a send whose outcome was uncertain
	// (never tokens, bodies or upload URLs); nil discards them.
	Logger *slog.Logger
	// MaxAttempts bounds how often one call goes back to Graph after a
	// failure that leaves the outcome open (a 503, a timeout, a dropped
	// connection), each time first looking for the message by its key;
	// default 5.
	MaxAttempts int
	// Settle is how long a call waits for a message it sent (or may have
	// sent) to show up in Sent Items; default 30 s. Graph accepts a send
	// before it moves the message there.
	Settle time.Duration
	// PollInterval is the wait between two looks into Sent Items while
	// settling; default 1 s.
	PollInterval time.Duration
	// ChunkSize is the size of one upload session PUT; default
	// [DefaultChunkSize], at most 4 MB.
	ChunkSize int
}

// Sender sends, replies and forwards mail through Microsoft Graph. It is
// safe for concurrent use; make one per process and share it.
type Sender struct {
	gc   *graph.Client
	cfg  Config
	log  *slog.Logger
	keys keylock.Map // calls with an IdempotencyKey, one at a time per key
}

// New returns a Sender for cfg, or an error naming every bad field.
func New(cfg Config) (*Sender, error) {
	var bad []string
	if cfg.Client == nil {
		gc, err := graphclient.New(graphclient.Config{})
		if err != nil {
			return nil, fmt.Errorf("mailsend: %w", err)
		}
		cfg.Client = gc
	}
	inner := graph.FromHandle(cfg.Client)
	if inner == nil {
		bad = append(bad, "Client was not made by graphclient.New")
	}
	if cfg.MaxAttempts < 0 || cfg.Settle < 0 || cfg.PollInterval < 0 || cfg.ChunkSize < 0 {
		bad = append(bad, "MaxAttempts, Settle, PollInterval and ChunkSize must not be negative; 0 takes the default")
	}
	if cfg.ChunkSize > maxChunkSize {
		bad = append(bad, fmt.Sprintf("ChunkSize %d is over Graph's 4 MB per PUT", cfg.ChunkSize))
	}
	if len(bad) > 0 {
		return nil, errors.New("mailsend: bad Config: " + strings.Join(bad, "; "))
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Settle == 0 {
		cfg.Settle = 30 * time.Second
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{gc: inner, cfg: cfg, log: log}, nil
}

// TokenSource supplies access tokens for the account that sends; see
// [graphclient.TokenSource]. A delegated token needs Mail.Send and
// Mail.ReadWrite (Mail.Send.Shared and Mail.ReadWrite.Shared, with Full
// Access, for another user's or a shared mailbox); an app-only token needs
// the application permissions Mail.Send and Mail.ReadWrite.
type TokenSource = graphclient.TokenSource

// BodyType is the format of a message body.
type BodyType string

// Body types.
const (
	Text BodyType = "text"
	HTML BodyType = "html"
)

// Importance is a message's importance.
type Importance string

// Importance values; the zero Importance is normal.
const (
	Low    Importance = "low"
	Normal Importance = "normal"
	High   Importance = "high"
)

// Message is a mail to send, or what a reply or forward adds to the draft
// Graph prepares.
type Message struct {
	// Subject of a new message. For a reply or forward, empty keeps
	// Graph's "RE: …" or "FW: …".
	Subject string
	// Body and its format (the zero BodyType is [Text]). For a reply or
	// forward it goes above the quoted original.
	Body     string
	BodyType BodyType
	// Recipients. A reply or forward adds them to those Graph chose (the
	// original's sender, or everyone for reply-all); a forward needs To.
	To, Cc, Bcc []m365link.EmailAddress
	// ReplyTo asks the vendor to answer to these addresses.
	ReplyTo []m365link.EmailAddress
	// From is who the message is from; empty is the sending mailbox. Set
	// it to another user to send on their behalf (the mailbox's user needs
	// Send on Behalf rights: recipients see "user on behalf of From"), or
	// to a mailbox whose Send As right the user holds.
	From m365link.EmailAddress
	// Importance; the zero value is [Normal].
	Importance Importance
	// Categories are Outlook categories on the sent message.
	Categories []string
	// Attachments of any size up to [MaxAttachmentSize]: under
	// [InlineAttachmentLimit] inside a request, above through an upload
	// session.
	Attachments []Attachment
	// IdempotencyKey makes retries safe: calls with the same key for the
	// same mailbox deliver one message, whatever failed in between (a
	// timeout, a 503 after Graph accepted the send, the host's process
	// dying), also when the retry comes while the first send is still on
	// its way to Sent Items. Use a key per message the host means to
	// send, e.g. its outbox row ID; the message of a retry must be the
	// same. Empty still guards the retries within one call.
	//
	// Calls with one key are serialised within the [Sender]: a second
	// one waits for the first, then finds its message. Across processes
	// nothing serialises them, so a host must not run one key from two
	// processes at the same moment; one after the other is safe.
	IdempotencyKey string
}

// Attachment is a file attached to a message.
type Attachment struct {
	// Name is the file name the recipient sees; required.
	Name string
	// ContentType is the MIME type, e.g. "application/pdf"; empty lets
	// Graph guess.
	ContentType string
	// Content is the file.
	Content []byte
	// ContentID makes the attachment an inline image: the HTML body shows
	// it with <img src="cid:{ContentID}">.
	ContentID string
}

// Sent is what a host keeps to link a sent message to its records.
type Sent struct {
	// ID is the immutable ID of the copy in the sending mailbox's Sent
	// Items: what the sync engine reports for it. Empty when the copy did
	// not appear within Config.Settle (the send itself went through).
	ID string
	// InternetMessageID is the Message-ID header the vendor's replies
	// refer to; ConversationID groups the thread in Outlook.
	InternetMessageID string
	ConversationID    string
	// SentAt is when Exchange sent it; zero when ID is empty.
	SentAt time.Time
	// Replayed reports that an earlier call with the same IdempotencyKey
	// had sent the message: this call sent nothing.
	Replayed bool
}

// Send sends msg from mailbox (a user ID or UPN: the signed-in user's own,
// or a shared mailbox to send as it) and returns the sent message. The
// message is saved to the mailbox's Sent Items. It is made as a draft
// carrying the idempotency key, completed with its attachments and sent;
// see [Message].IdempotencyKey for retries.
//
// Graph: POST /users/{id}/messages, POST /users/{id}/messages/{id}/send
// (https://learn.microsoft.com/graph/api/message-send).
func (s *Sender) Send(ctx context.Context, ts TokenSource, mailbox string, msg *Message) (*Sent, error) {
	j, err := s.job(ts, mailbox, msg, "send", "")
	if err != nil {
		return nil, err
	}
	if len(msg.To)+len(msg.Cc)+len(msg.Bcc) == 0 {
		return nil, &Error{Kind: ErrInvalidMessage, Op: "send", Mailbox: mailbox, Detail: "no recipients"}
	}
	return j.run(ctx)
}

// Reply replies to the sender of the message messageID of mailbox (the
// original's Reply-To, if it has one), in its conversation: the reply
// carries In-Reply-To and References, so it stays in the vendor's thread
// in Outlook and in the host. msg adds the body (above the quoted
// original) and anything else it sets.
//
// Graph: POST /users/{id}/messages/{id}/createReply, then PATCH and send
// (https://learn.microsoft.com/graph/api/message-createreply).
func (s *Sender) Reply(ctx context.Context, ts TokenSource, mailbox, messageID string, msg *Message) (*Sent, error) {
	j, err := s.job(ts, mailbox, msg, "createReply", messageID)
	if err != nil {
		return nil, err
	}
	return j.run(ctx)
}

// ReplyAll is [Sender.Reply] to the sender and every recipient of the
// original but the mailbox itself.
//
// Graph: POST /users/{id}/messages/{id}/createReplyAll
// (https://learn.microsoft.com/graph/api/message-createreplyall).
func (s *Sender) ReplyAll(ctx context.Context, ts TokenSource, mailbox, messageID string, msg *Message) (*Sent, error) {
	j, err := s.job(ts, mailbox, msg, "createReplyAll", messageID)
	if err != nil {
		return nil, err
	}
	return j.run(ctx)
}

// Forward forwards the message messageID of mailbox, with its
// attachments, to msg.To (and Cc, Bcc), in the same conversation.
//
// Graph: POST /users/{id}/messages/{id}/createForward
// (https://learn.microsoft.com/graph/api/message-createforward).
func (s *Sender) Forward(ctx context.Context, ts TokenSource, mailbox, messageID string, msg *Message) (*Sent, error) {
	j, err := s.job(ts, mailbox, msg, "createForward", messageID)
	if err != nil {
		return nil, err
	}
	if len(msg.To)+len(msg.Cc)+len(msg.Bcc) == 0 {
		return nil, &Error{Kind: ErrInvalidMessage, Op: "forward", Mailbox: mailbox, Detail: "no recipients"}
	}
	return j.run(ctx)
}

// job checks the arguments every call shares.
func (s *Sender) job(ts TokenSource, mailbox string, msg *Message, action, original string) (*job, error) {
	op := action
	fail := func(detail string) error {
		return &Error{Kind: ErrInvalidMessage, Op: op, Mailbox: mailbox, Detail: detail}
	}
	switch {
	case s == nil || s.gc == nil:
		return nil, errors.New("mailsend: Sender not made by New")
	case ts == nil:
		return nil, fail("no token source")
	case mailbox == "":
		return nil, fail("no mailbox")
	case msg == nil:
		return nil, fail("no message")
	case action != "send" && original == "":
		return nil, fail("no message ID to answer")
	}
	switch msg.BodyType {
	case "", Text, HTML:
	default:
		return nil, fail(fmt.Sprintf("body type %q is neither text nor html", msg.BodyType))
	}
	switch msg.Importance {
	case "", Low, Normal, High:
	default:
		return nil, fail(fmt.Sprintf("importance %q is not low, normal or high", msg.Importance))
	}
	for i, a := range msg.Attachments {
		if a.Name == "" {
			return nil, fail(fmt.Sprintf("attachment %d has no name", i))
		}
		if len(a.Content) > MaxAttachmentSize {
			return nil, &Error{Kind: ErrMessageTooLarge, Op: op, Mailbox: mailbox,
				Detail: fmt.Sprintf("attachment %q is %d bytes, over Graph's %d", a.Name, len(a.Content), MaxAttachmentSize)}
		}
	}
	key := msg.IdempotencyKey
	if key == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		key = "call:" + hex.EncodeToString(b[:])
	}
	return &job{s: s, ts: ts, mailbox: mailbox, msg: msg, action: action, original: original, key: keyValue(key)}, nil
}

// keyValue is what the draft carries: a digest of the host's key, since
// Exchange compares property values case-insensitively and the key may be
// anything. (The lookup is per mailbox, however the call names it.)
func keyValue(key string) string {
	h := sha256.Sum256([]byte("m365link mailsend v1\x00" + key))
	return hex.EncodeToString(h[:])
}

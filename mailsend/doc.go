// Package mailsend sends, replies to and forwards mail through Microsoft
// Graph: as the signed-in user, as a shared mailbox, or on behalf of
// another user; with attachments of any size; threaded with the vendor's
// conversation; and never twice.
//
//	sender, err := mailsend.New(mailsend.Config{Client: gc})
//	sent, err := sender.Send(ctx, tokens, "alice@contoso.com", &mailsend.Message{
//		Subject: "PO 4711", Body: "<p>Please confirm.</p>", BodyType: mailsend.HTML,
//		To:             []m365link.EmailAddress{{Name: "Ann", Address: "ann@acme.example"}},
//		IdempotencyKey: "outbox/8812",
//	})
//	// sent.ID, sent.InternetMessageID, sent.ConversationID link the mail to the vendor.
//
// # Who sends
//
// The mailbox argument names the mailbox the message is made and saved
// in, and the request runs under it (its throttling is that mailbox's):
//
//   - the user's own mailbox: the user sends;
//   - a shared mailbox: the message is sent as it ("send as": From is
//     the shared mailbox) and saved in its Sent Items; the user needs
//     Full Access and Send As on it (a delegated token also needs
//     Mail.Send.Shared and Mail.ReadWrite.Shared);
//   - the user's own mailbox with Message.From set to another user:
//     "send on behalf" — recipients see the user on behalf of From; the
//     user needs Send on Behalf rights.
//
// Refusals are typed: [ErrSendAsDenied] (Graph's ErrorSendAsDenied),
// [ErrAccessDenied] (Mail.Send or mailbox access missing),
// [ErrRecipientsRejected], [ErrMessageTooLarge]. Each *[Error] unwraps to
// Graph's *m365link.GraphError, so errors.Is(err, m365link.ErrForbidden)
// works too.
//
// # Threads
//
// [Sender.Reply], [Sender.ReplyAll] and [Sender.Forward] use Graph's
// createReply, createReplyAll and createForward: Graph addresses the draft,
// quotes the original and sets In-Reply-To and References, so the answer
// stays in the vendor's conversation (same ConversationID) in Outlook, in
// the vendor's mail client and in the host. The host's body goes above the
// quote.
//
// # Attachments
//
// Attachments under 3 MB travel inside requests; from 3 MB up to 150 MB
// through an upload session, in chunks of [DefaultChunkSize], resumed after
// a lost chunk from where the session says it stands. An attachment with a
// ContentID is inline: the HTML body shows it with src="cid:…".
//
// # Never twice
//
// Graph has no idempotency key for sending, and its answer to a send can
// be lost after the message went out. So every message is made as a draft
// that carries the host's [Message].IdempotencyKey (a digest of it) in a
// single-value extended property, then sent. Before creating anything, a
// call looks the key up in Sent Items (found: the message already went
// out; the call returns it with Sent.Replayed set), then in every folder
// (a draft in Drafts: an earlier attempt stopped before sending, and the
// call completes and sends that draft; the message anywhere else but
// Deleted Items: it was sent and is on its way, as Graph's 202 only hands
// it to transport, which takes it out of Drafts at once and files the
// copy in Sent Items later; the call waits up to [Config].Settle for the
// copy and returns it as a replay). Steps that create or send are never
// resent blindly: after a 503, a timeout or a dropped connection the call
// looks again. A draft can be sent only once, as the send moves it out of
// Drafts. A reply's or forward's draft carries the key from the
// createReply request on, marked incomplete until the call has added its
// part, so a lost createReply answer leaves nothing behind. Retrying a
// call with the same key — after it failed, or from a new process after a
// crash — therefore delivers one message. Calls with the same key at the
// same moment take turns within a [Sender]; across processes they are not
// guarded: a host sends each key from one place at a time.
//
// What is left open: if Graph accepted a send but the message is in no
// folder when a retry looks (a transport rule that deletes the copy, or a
// moment between transport dropping it from the Outbox and filing the
// copy, if Exchange has one), a retry cannot find it. Graph does not say
// whether createReply keeps extended properties given in its message
// (GRAPH.md: "any writeable properties"); the fake does. A call that
// cannot tell returns [ErrOutcomeUnknown] rather than guess.
//
// Every request goes through the shared graphclient.Client: the
// per-mailbox limiter, Retry-After, Prefer: IdType="ImmutableId" (IDs
// returned are immutable IDs, the ones sync reports) and the typed errors
// of every other package.
package mailsend

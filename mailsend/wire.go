package mailsend

import (
	"html"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// Lean wire types: only the fields sending needs, encoded and decoded with
// encoding/json.

// keyPropertyID names the single-value extended property that carries the
// idempotency key on a draft and its Sent Items copy: a string property in
// the library's own property set, named, as Graph prefers.
const keyPropertyID = "String {6a9c3f58-2e1b-4d7a-9f0c-5b8e1d2a4c73} Name m365linkSendKey"

type wireEmail struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

type wireRecipient struct {
	EmailAddress wireEmail `json:"emailAddress"`
}

type wireBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type wireProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type wireAttachment struct {
	ODataType    string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType,omitempty"`
	ContentBytes []byte `json:"contentBytes"`
	IsInline     bool   `json:"isInline,omitempty"`
	ContentID    string `json:"contentId,omitempty"`
}

// wireDraft is the body of a draft's create or PATCH; empty fields are
// left as they are.
type wireDraft struct {
	Subject                       string           `json:"subject,omitempty"`
	Body                          *wireBody        `json:"body,omitempty"`
	From                          *wireRecipient   `json:"from,omitempty"`
	ToRecipients                  []wireRecipient  `json:"toRecipients,omitempty"`
	CcRecipients                  []wireRecipient  `json:"ccRecipients,omitempty"`
	BccRecipients                 []wireRecipient  `json:"bccRecipients,omitempty"`
	ReplyTo                       []wireRecipient  `json:"replyTo,omitempty"`
	Importance                    string           `json:"importance,omitempty"`
	Categories                    []string         `json:"categories,omitempty"`
	SingleValueExtendedProperties []wireProp       `json:"singleValueExtendedProperties,omitempty"`
	Attachments                   []wireAttachment `json:"attachments,omitempty"`
}

// wireCreateReply is the body of createReply, createReplyAll and
// createForward: the properties to set on the draft.
type wireCreateReply struct {
	Message *wireDraft `json:"message,omitempty"`
}

// wireMessage is what sending reads back of a message.
type wireMessage struct {
	ID                string          `json:"id"`
	ParentFolderID    string          `json:"parentFolderId"`
	IsDraft           bool            `json:"isDraft"`
	InternetMessageID string          `json:"internetMessageId"`
	ConversationID    string          `json:"conversationId"`
	SentDateTime      graph.Time      `json:"sentDateTime"`
	Body              wireBody        `json:"body"`
	ToRecipients      []wireRecipient `json:"toRecipients"`
	CcRecipients      []wireRecipient `json:"ccRecipients"`
}

// lookupSelect is what a lookup by key asks for.
const lookupSelect = "id,isDraft,internetMessageId,conversationId,sentDateTime"

// replySelect is what a lookup of an incomplete reply draft asks for:
// what completing it needs.
const replySelect = lookupSelect + ",body,toRecipients,ccRecipients"

type wireList struct {
	Value []wireMessage `json:"value"`
}

type wireAttachmentName struct {
	Name string `json:"name"`
}

func recipients(as []m365link.EmailAddress) []wireRecipient {
	if len(as) == 0 {
		return nil
	}
	out := make([]wireRecipient, len(as))
	for i, a := range as {
		out[i] = wireRecipient{wireEmail{Name: a.Name, Address: a.Address}}
	}
	return out
}

// plus returns have followed by the addresses of add it lacks.
func plus(have []wireRecipient, add []m365link.EmailAddress) []wireRecipient {
	out := append([]wireRecipient(nil), have...)
	for _, a := range recipients(add) {
		dup := false
		for _, h := range out {
			if strings.EqualFold(h.EmailAddress.Address, a.EmailAddress.Address) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, a)
		}
	}
	return out
}

func fileAttachment(a *Attachment) wireAttachment {
	return wireAttachment{ODataType: "#microsoft.graph.fileAttachment", Name: a.Name, ContentType: a.ContentType,
		ContentBytes: a.Content, IsInline: a.ContentID != "", ContentID: a.ContentID}
}

// common fills what a new message and a reply set alike.
func (j *job) common(d *wireDraft) {
	m := j.msg
	if m.From.Address != "" {
		d.From = &wireRecipient{wireEmail{Name: m.From.Name, Address: m.From.Address}}
	}
	d.BccRecipients = recipients(m.Bcc)
	d.ReplyTo = recipients(m.ReplyTo)
	if m.Importance != "" {
		d.Importance = string(m.Importance)
	}
	d.Categories = m.Categories
	d.SingleValueExtendedProperties = []wireProp{{ID: keyPropertyID, Value: j.key}}
}

func bodyType(t BodyType) string {
	if t == "" {
		return string(Text)
	}
	return string(t)
}

// replyBody puts the host's body above the quoted original of a reply or
// forward draft, in the draft's format (HTML when either is).
func replyBody(own string, ownType BodyType, quoted wireBody) wireBody {
	if strings.EqualFold(quoted.ContentType, "html") {
		if ownType != HTML {
			own = textToHTML(own)
		}
		return wireBody{ContentType: "html", Content: insertHTML(quoted.Content, own)}
	}
	if ownType == HTML {
		return wireBody{ContentType: "html", Content: own + "<pre>" + html.EscapeString(quoted.Content) + "</pre>"}
	}
	return wireBody{ContentType: "text", Content: own + quoted.Content}
}

func textToHTML(s string) string {
	s = html.EscapeString(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return "<div>" + strings.ReplaceAll(s, "\n", "<br>\n") + "</div>"
}

// insertHTML puts own at the start of doc's body: after the <body …> tag
// when doc is a whole HTML document, as Graph's drafts are, else before
// everything.
func insertHTML(doc, own string) string {
	i := indexFold(doc, "<body")
	if i < 0 {
		return own + doc
	}
	j := strings.IndexByte(doc[i:], '>')
	if j < 0 {
		return own + doc
	}
	at := i + j + 1
	return doc[:at] + own + doc[at:]
}

// indexFold is strings.Index for an ASCII needle, ignoring case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// keyFilter finds messages whose key property is value, in OData's syntax
// (the value is hex, or incompleteKey's, so it needs no quoting).
func keyFilter(value string) string {
	return "singleValueExtendedProperties/Any(ep: ep/id eq '" + keyPropertyID + "' and ep/value eq '" + value + "')"
}

// incompleteKey is the key property of a reply or forward draft between
// createReply and the PATCH that completes it.
func incompleteKey(key string) string {
	return "incomplete-" + key
}

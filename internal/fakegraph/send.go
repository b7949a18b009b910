package fakegraph

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"
)

// Sending mail. The fake serves the draft flow (POST /users/{id}/messages,
// PATCH and DELETE of a draft, POST .../send), createReply, createReplyAll
// and createForward, small attachments (POST .../attachments) and large ones
// through upload sessions (see upload.go), single-value extended properties
// with the $filter that finds a message by one, and sendMail. A send checks
// what Exchange checks (Mail.Send, access to the mailbox, send-as and
// send-on-behalf rights, recipients, size), moves the draft to Sent Items
// under a new ID and records a [Delivery], which tests read with
// [Server.Deliveries]: "exactly one message went out" is an assertion on it.

// DefaultMaxMessageSize is the message size limit a send checks unless
// [Server.SetMaxMessageSize] says otherwise: Exchange Online's default of
// 35 MB (counted here on the raw bytes of the body and attachments).
const DefaultMaxMessageSize = 35 << 20

// Attachment is a file attached to a message.
type Attachment struct {
	ID          string
	Name        string
	ContentType string
	// ContentID names an inline attachment for the body's cid: links.
	ContentID string
	IsInline  bool
	Content   []byte
}

// Delivery is one message handed to transport by a send or a sendMail.
type Delivery struct {
	// Mailbox is the user ID of the mailbox the message was sent from.
	Mailbox string
	// SentItemID is the ID of its copy in Sent Items; "" when sendMail
	// was told not to save one.
	SentItemID      string
	From            Address
	Sender          Address
	To              []Address
	Cc              []Address
	Bcc             []Address
	ReplyTo         []Address
	Subject         string
	Body            string
	BodyContentType string
	Importance      string
	Categories      []string
	// InternetMessageID is the Message-ID header it went out with.
	InternetMessageID string
	ConversationID    string
	// InReplyTo and References are the threading headers of a reply or
	// forward: the original's Message-ID, and the chain before it.
	InReplyTo  string
	References string
	// Attachments in the order they were added.
	Attachments []Attachment
	// ExtendedProperties holds the single-value extended properties by ID.
	ExtendedProperties map[string]string
	SentDateTime       time.Time
}

// MailboxPermission is what a delegate may do with another user's mailbox,
// as Exchange grants it.
type MailboxPermission struct {
	// FullAccess lets the delegate's delegated token create, change and
	// send items in the mailbox (requests under /users/{owner}).
	FullAccess bool
	// SendAs lets the delegate send with from = the owner; the recipient
	// sees only the owner.
	SendAs bool
	// SendOnBehalf lets the delegate send with from = the owner and
	// sender = the delegate ("delegate on behalf of owner").
	SendOnBehalf bool
}

// mailState holds what the model's Message does not: extended properties,
// attachments and threading headers by message ID, upload sessions, the
// delivery log and the sending rules. The Server's mu guards it.
type mailState struct {
	extras      map[string]*msgExtra
	sessions    map[string]*uploadSession
	delivered   []Delivery
	grants      map[[2]string]MailboxPermission // {owner ID, delegate ID}
	sendAllowed func(token string, r *http.Request) bool
	maxSize     int64
	n           uint64
}

type msgExtra struct {
	props       map[string]string
	attachments []Attachment
	inReplyTo   string
	references  string
}

func (ms *mailState) extra(id string) *msgExtra {
	if ms.extras == nil {
		ms.extras = map[string]*msgExtra{}
	}
	x := ms.extras[id]
	if x == nil {
		x = &msgExtra{props: map[string]string{}}
		ms.extras[id] = x
	}
	return x
}

// Deliveries returns every message sent so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.mail.delivered))
	for i, d := range s.mail.delivered {
		out[i] = d.clone()
	}
	return out
}

// GrantMailbox gives delegate (a user ID or UPN) rights on owner's mailbox,
// replacing what it had.
func (s *Server) GrantMailbox(owner, delegate string, p MailboxPermission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, d := s.userByKey[strings.ToLower(owner)], s.userByKey[strings.ToLower(delegate)]
	if o == nil || d == nil {
		panic(unknown("user", owner+" or "+delegate))
	}
	if s.mail.grants == nil {
		s.mail.grants = map[[2]string]MailboxPermission{}
	}
	s.mail.grants[[2]string{o.u.ID, d.u.ID}] = p
}

// SetSendAllowed installs the check that a token carries Mail.Send; a send
// or sendMail with a token it refuses gets 403 ErrorAccessDenied, as Graph
// answers when the permission is missing. nil (the default) allows all.
func (s *Server) SetSendAllowed(allowed func(token string, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mail.sendAllowed = allowed
}

// SetMaxMessageSize sets the size limit a send checks; n <= 0 restores
// [DefaultMaxMessageSize].
func (s *Server) SetMaxMessageSize(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mail.maxSize = n
}

// Attachments returns a message's attachments, in the order they were added.
func (s *Server) Attachments(userID, messageID string) []Attachment {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messageLocked(userID, messageID)
	if x := s.mail.extras[messageID]; x != nil {
		return cloneAttachments(x.attachments)
	}
	return nil
}

// ExtendedProperties returns a message's single-value extended properties
// by ID.
func (s *Server) ExtendedProperties(userID, messageID string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messageLocked(userID, messageID)
	if x := s.mail.extras[messageID]; x != nil && len(x.props) > 0 {
		return maps.Clone(x.props)
	}
	return nil
}

func (d Delivery) clone() Delivery {
	d.To, d.Cc, d.Bcc, d.ReplyTo = cloneSlice(d.To), cloneSlice(d.Cc), cloneSlice(d.Bcc), cloneSlice(d.ReplyTo)
	d.Categories = cloneSlice(d.Categories)
	d.Attachments = cloneAttachments(d.Attachments)
	d.ExtendedProperties = maps.Clone(d.ExtendedProperties)
	return d
}

func cloneAttachments(as []Attachment) []Attachment {
	if as == nil {
		return nil
	}
	out := make([]Attachment, len(as))
	for i, a := range as {
		a.Content = append([]byte(nil), a.Content...)
		out[i] = a
	}
	return out
}

// methodRoutes maps "METHOD signature" to the handlers of the routes that
// are not plain GETs of the model (and of a few GETs that belong with them).
var methodRoutes = map[string]handlerFunc{
	"POST users/{}/messages":                                                   (*Server).createMessage,
	"PATCH users/{}/messages/{}":                                               (*Server).updateDraft,
	"DELETE users/{}/messages/{}":                                              (*Server).deleteMessage,
	"POST users/{}/messages/{}/send":                                           (*Server).sendDraft,
	"POST users/{}/messages/{}/createreply":                                    (*Server).createReply,
	"POST users/{}/messages/{}/createreplyall":                                 (*Server).createReply,
	"POST users/{}/messages/{}/createforward":                                  (*Server).createReply,
	"POST users/{}/messages/{}/attachments":                                    (*Server).addAttachment,
	"GET users/{}/messages/{}/attachments":                                     (*Server).listAttachments,
	"POST users/{}/messages/{}/attachments/createuploadsession":                (*Server).createUploadSession,
	"POST users/{}/sendmail":                                                   (*Server).sendMail,
	"POST users/{}/mailfolders/{}/messages/{}/send":                            (*Server).sendDraft,
	"POST users/{}/mailfolders/{}/messages/{}/createreply":                     (*Server).createReply,
	"POST users/{}/mailfolders/{}/messages/{}/createreplyall":                  (*Server).createReply,
	"POST users/{}/mailfolders/{}/messages/{}/createforward":                   (*Server).createReply,
	"POST users/{}/mailfolders/{}/messages/{}/attachments/createuploadsession": (*Server).createUploadSession,
}

// The wire shapes a client sends. Pointers tell "absent" from "empty".
type wireRecipient struct {
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
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
	ContentType  string `json:"contentType"`
	ContentID    string `json:"contentId"`
	IsInline     bool   `json:"isInline"`
	ContentBytes []byte `json:"contentBytes"`
}

type wireMessage struct {
	Subject                       *string          `json:"subject"`
	Body                          *wireBody        `json:"body"`
	From                          *wireRecipient   `json:"from"`
	ToRecipients                  *[]wireRecipient `json:"toRecipients"`
	CcRecipients                  *[]wireRecipient `json:"ccRecipients"`
	BccRecipients                 *[]wireRecipient `json:"bccRecipients"`
	ReplyTo                       *[]wireRecipient `json:"replyTo"`
	Importance                    *string          `json:"importance"`
	Categories                    *[]string        `json:"categories"`
	SingleValueExtendedProperties []wireProp       `json:"singleValueExtendedProperties"`
	Attachments                   []wireAttachment `json:"attachments"`
}

func addresses(rs []wireRecipient) []Address {
	out := make([]Address, 0, len(rs))
	for _, r := range rs {
		out = append(out, Address{Name: r.EmailAddress.Name, Address: r.EmailAddress.Address})
	}
	return out
}

// apply copies what w sets onto m and x, or returns the 400 to answer.
func (s *Server) apply(rc *reqCtx, w *wireMessage, m *Message, x *msgExtra) *result {
	if w.Subject != nil {
		m.Subject = *w.Subject
	}
	if w.Body != nil {
		ct := strings.ToLower(w.Body.ContentType)
		switch ct {
		case "":
			ct = "text"
		case "text", "html":
		default:
			return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "Requested value '"+w.Body.ContentType+"' was not found.")
		}
		m.Body, m.BodyContentType = w.Body.Content, ct
	}
	if w.From != nil {
		m.From = Address{Name: w.From.EmailAddress.Name, Address: w.From.EmailAddress.Address}
	}
	for _, l := range []struct {
		in  *[]wireRecipient
		out *[]Address
	}{{w.ToRecipients, &m.To}, {w.CcRecipients, &m.Cc}, {w.BccRecipients, &m.Bcc}, {w.ReplyTo, &m.ReplyTo}} {
		if l.in != nil {
			*l.out = addresses(*l.in)
		}
	}
	if w.Importance != nil {
		switch v := strings.ToLower(*w.Importance); v {
		case "low", "normal", "high":
			m.Importance = v
		default:
			return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "Requested value '"+*w.Importance+"' was not found.")
		}
	}
	if w.Categories != nil {
		m.Categories = cloneSlice(*w.Categories)
	}
	for _, p := range w.SingleValueExtendedProperties {
		if p.ID == "" {
			return s.fail(rc, http.StatusBadRequest, "ErrorInvalidProperty", "The extended property ID is empty.")
		}
		x.props[p.ID] = p.Value
	}
	for _, a := range w.Attachments {
		if res := s.attach(rc, x, a); res != nil {
			return res
		}
	}
	m.HasAttachments = len(x.attachments) > 0
	return nil
}

// smallAttachmentLimit is the largest attachment Graph takes in one
// request; bigger ones need an upload session.
const smallAttachmentLimit = 3 << 20

func (s *Server) attach(rc *reqCtx, x *msgExtra, a wireAttachment) *result {
	if !strings.EqualFold(a.ODataType, "#microsoft.graph.fileAttachment") {
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "The fake takes file attachments only, not '"+a.ODataType+"'.")
	}
	if len(a.ContentBytes) > smallAttachmentLimit {
		return s.fail(rc, http.StatusRequestEntityTooLarge, "ErrorRequestEntityTooLarge", "The attachment is larger than 3 MB; use an upload session.")
	}
	s.mail.n++
	x.attachments = append(x.attachments, Attachment{
		ID: guid(hashKey("attachment"), s.mail.n), Name: a.Name, ContentType: a.ContentType,
		ContentID: a.ContentID, IsInline: a.IsInline, Content: append([]byte(nil), a.ContentBytes...),
	})
	return nil
}

// decodeOptional is decode for a body that may be empty.
func (s *Server) decodeOptional(rc *reqCtx, v any) *result {
	b, err := io.ReadAll(io.LimitReader(rc.r.Body, 8<<20))
	if err != nil {
		return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The request body could not be read.")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The request body is not valid JSON: "+err.Error())
	}
	return nil
}

func (s *Server) decode(rc *reqCtx, v any) *result {
	dec := json.NewDecoder(http.MaxBytesReader(nil, rc.r.Body, 8<<20))
	if err := dec.Decode(v); err != nil {
		return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The request body is not valid JSON: "+err.Error())
	}
	return nil
}

// access checks that the token may work in the route's mailbox: an
// app-only token may (Graph's application permissions), a delegated one
// for its own mailbox or with FullAccess. It returns the user the request
// acts as. Call with s.mu held.
func (s *Server) mailAccess(rc *reqCtx, mb *mailbox) (*userRec, *result) {
	owner := s.userByKey[strings.ToLower(mb.userID)]
	if rc.me == "" {
		return owner, nil
	}
	me := s.userByKey[strings.ToLower(rc.me)]
	if me == nil {
		return nil, s.mailAccessDenied(rc)
	}
	if me != owner && !s.mail.grants[[2]string{owner.u.ID, me.u.ID}].FullAccess {
		return nil, s.mailAccessDenied(rc)
	}
	return me, nil
}

func (s *Server) mailAccessDenied(rc *reqCtx) *result {
	return s.fail(rc, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
}

// inDraftBox runs f for the route's mailbox after the access check.
func (s *Server) inDraftBox(rc *reqCtx, f func(mb *mailbox, actor *userRec) *result) *result {
	return s.inMailbox(rc, func(mb *mailbox) *result {
		actor, res := s.mailAccess(rc, mb)
		if res != nil {
			return res
		}
		return f(mb, actor)
	})
}

// msgFromRoute finds the message the route names (…/messages/{id}, under
// a mail folder or not).
func (s *Server) msgFromRoute(rc *reqCtx, mb *mailbox) (*msgRec, *result) {
	for i := len(rc.route.segs) - 1; i > 0; i-- {
		if sg := rc.route.segs[i]; sg.name == "messages" && sg.hasKey {
			if r := mb.msgs[sg.key]; r != nil {
				return r, nil
			}
			break
		}
	}
	return nil, s.notFound(rc)
}

func (s *Server) renderMessage(rc *reqCtx, mb *mailbox, m *Message, status int) *result {
	sel, _ := messageSchema.parseSelect("")
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/messages/$entity"))
	b = append(b, ',')
	obj := messageSchema.object(nil, false, m, sel, s.renderCtx(rc))
	res := jsonResult(append(b, obj[1:]...))
	res.status = status
	return res
}

// newDraft stores m as a draft of mb with its extras and returns it.
func (s *Server) newDraft(mb *mailbox, m Message, x *msgExtra) *msgRec {
	owner := s.userByKey[strings.ToLower(mb.userID)]
	s.mail.n++
	m.ID, m.IsDraft, m.IsRead = "", true, true
	if m.InternetMessageID == "" {
		m.InternetMessageID = internetMessageID(mb.key^0x6d61696c, s.mail.n, domainOf(owner.u.Mail))
	}
	m.ReceivedDateTime, m.SentDateTime = time.Time{}, time.Time{}
	m.HasAttachments = len(x.attachments) > 0
	rec := s.addMessageLocked(mb, mb.wellKnown["drafts"], m)
	s.mail.extras = mapWith(s.mail.extras, rec.m.ID, x)
	return rec
}

func mapWith[K comparable, V any](m map[K]V, k K, v V) map[K]V {
	if m == nil {
		m = map[K]V{}
	}
	m[k] = v
	return m
}

// touch records a change to a draft, so delta and change keys see it.
func (s *Server) touch(mb *mailbox, rec *msgRec) {
	seq := mb.bump()
	rec.m.ChangeKey = changeKey(mb.key, seq)
	rec.m.LastModifiedDateTime = s.now().UTC()
	rec.seq = seq
	mb.folders[rec.m.ParentFolderID].put(seq, rec.m.ID, true, mb.msgState)
}

// createMessage serves POST /users/{id}/messages: a new draft in Drafts.
func (s *Server) createMessage(rc *reqCtx) *result {
	var w wireMessage
	if res := s.decode(rc, &w); res != nil {
		return res
	}
	return s.inDraftBox(rc, func(mb *mailbox, _ *userRec) *result {
		var m Message
		x := &msgExtra{props: map[string]string{}}
		if res := s.apply(rc, &w, &m, x); res != nil {
			return res
		}
		rec := s.newDraft(mb, m, x)
		return s.renderMessage(rc, mb, &rec.m, http.StatusCreated)
	})
}

// updateDraft serves PATCH of a message; the fake changes drafts only.
func (s *Server) updateDraft(rc *reqCtx) *result {
	var w wireMessage
	if res := s.decode(rc, &w); res != nil {
		return res
	}
	if len(w.Attachments) > 0 {
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "Attachments cannot be added with PATCH; POST them to the attachments collection.")
	}
	return s.inDraftBox(rc, func(mb *mailbox, _ *userRec) *result {
		rec, res := s.msgFromRoute(rc, mb)
		if res != nil {
			return res
		}
		if !rec.m.IsDraft {
			return s.fail(rc, http.StatusBadRequest, "ErrorInvalidOperation", "Only drafts can be changed by the fake.")
		}
		m := rec.m.clone()
		if res := s.apply(rc, &w, &m, s.mail.extra(rec.m.ID)); res != nil {
			return res
		}
		rec.m = m
		s.touch(mb, rec)
		return s.renderMessage(rc, mb, &rec.m, http.StatusOK)
	})
}

// deleteMessage serves DELETE of a message: it moves to Deleted Items, as
// Graph's does.
func (s *Server) deleteMessage(rc *reqCtx) *result {
	return s.inDraftBox(rc, func(mb *mailbox, _ *userRec) *result {
		rec, res := s.msgFromRoute(rc, mb)
		if res != nil {
			return res
		}
		s.moveMessageLocked(mb, rec, mb.wellKnown["deleteditems"])
		return &result{status: http.StatusNoContent, header: http.Header{}}
	})
}

// createReply serves createReply, createReplyAll and createForward: a
// draft in Drafts, in the original's conversation, addressed as Outlook
// addresses it, its body quoting the original, with In-Reply-To and
// References set for the thread.
func (s *Server) createReply(rc *reqCtx) *result {
	var w struct {
		Comment *string      `json:"comment"`
		Message *wireMessage `json:"message"`
	}
	if res := s.decodeOptional(rc, &w); res != nil {
		return res
	}
	if w.Comment != nil && w.Message != nil && w.Message.Body != nil {
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "Specify either a comment or the body property of the message parameter, not both.")
	}
	action := rc.route.segs[len(rc.route.segs)-1].name
	return s.inDraftBox(rc, func(mb *mailbox, _ *userRec) *result {
		orig, res := s.msgFromRoute(rc, mb)
		if res != nil {
			return res
		}
		o := &orig.m
		self := s.userByKey[strings.ToLower(mb.userID)].u.Mail
		m := Message{ConversationID: o.ConversationID, BodyContentType: o.BodyContentType, Importance: "normal"}
		prefix := "RE: "
		switch action {
		case "createforward":
			prefix = "FW: "
		case "createreply", "createreplyall":
			m.To = cloneSlice(o.ReplyTo)
			if len(m.To) == 0 {
				m.To = []Address{o.From}
			}
			if action == "createreplyall" {
				m.To = append(m.To, without(o.To, self)...)
				m.Cc = without(o.Cc, self)
			}
		}
		m.Subject = o.Subject
		if !strings.HasPrefix(strings.ToUpper(o.Subject), prefix) {
			m.Subject = prefix + o.Subject
		}
		m.Body = quote(o)
		if o.BodyContentType == "text" {
			m.Body = "\r\n\r\n" + stripTags(m.Body)
		}
		if w.Comment != nil {
			m.Body = *w.Comment + m.Body
		}
		x := &msgExtra{props: map[string]string{}, inReplyTo: o.InternetMessageID}
		x.references = o.InternetMessageID
		if ox := s.mail.extras[o.ID]; ox != nil && ox.references != "" {
			x.references = ox.references + " " + o.InternetMessageID
		}
		if w.Message != nil {
			if res := s.apply(rc, w.Message, &m, x); res != nil {
				return res
			}
		}
		rec := s.newDraft(mb, m, x)
		return s.renderMessage(rc, mb, &rec.m, http.StatusCreated)
	})
}

func without(as []Address, self string) []Address {
	var out []Address
	for _, a := range as {
		if !strings.EqualFold(a.Address, self) {
			out = append(out, a)
		}
	}
	return out
}

// quote renders the original below a rule in an HTML document, as
// Outlook quotes it.
func quote(o *Message) string {
	var b strings.Builder
	b.WriteString("<html><body><hr><b>From:</b> ")
	b.WriteString(htmlEscape(o.From.Name + " <" + o.From.Address + ">"))
	b.WriteString("<br><b>Sent:</b> ")
	b.WriteString(o.SentDateTime.UTC().Format(time.RFC1123))
	b.WriteString("<br><b>Subject:</b> ")
	b.WriteString(htmlEscape(o.Subject))
	b.WriteString("<br><br>")
	if o.BodyContentType == "text" {
		b.WriteString(htmlEscape(o.Body))
	} else {
		b.WriteString(innerBody(o.Body))
	}
	b.WriteString("</body></html>")
	return b.String()
}

// innerBody is what an HTML document's body element holds, or all of s.
func innerBody(s string) string {
	l := strings.ToLower(s)
	i := strings.Index(l, "<body")
	if i < 0 {
		return s
	}
	j := strings.IndexByte(l[i:], '>')
	k := strings.LastIndex(l, "</body>")
	if j < 0 || k < i+j {
		return s
	}
	return s[i+j+1 : k]
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// addAttachment serves POST .../attachments with one small file attachment.
func (s *Server) addAttachment(rc *reqCtx) *result {
	var a wireAttachment
	if res := s.decode(rc, &a); res != nil {
		return res
	}
	return s.inDraftBox(rc, func(mb *mailbox, _ *userRec) *result {
		rec, res := s.msgFromRoute(rc, mb)
		if res != nil {
			return res
		}
		x := s.mail.extra(rec.m.ID)
		if res := s.attach(rc, x, a); res != nil {
			return res
		}
		rec.m.HasAttachments = true
		s.touch(mb, rec)
		return s.renderAttachment(rc, x.attachments[len(x.attachments)-1], http.StatusCreated)
	})
}

func (s *Server) renderAttachment(rc *reqCtx, a Attachment, status int) *result {
	b, _ := json.Marshal(attachmentJSON(a))
	res := jsonResult(b)
	res.status = status
	return res
}

type attachmentView struct {
	ODataType   string `json:"@odata.type"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
	IsInline    bool   `json:"isInline"`
	ContentID   string `json:"contentId,omitempty"`
}

func attachmentJSON(a Attachment) attachmentView {
	return attachmentView{"#microsoft.graph.fileAttachment", a.ID, a.Name, a.ContentType, len(a.Content), a.IsInline, a.ContentID}
}

// listAttachments serves GET .../attachments, without the content bytes.
func (s *Server) listAttachments(rc *reqCtx) *result {
	return s.inDraftBox(rc, func(mb *mailbox, _ *userRec) *result {
		rec, res := s.msgFromRoute(rc, mb)
		if res != nil {
			return res
		}
		out := struct {
			Value []attachmentView `json:"value"`
		}{Value: []attachmentView{}}
		if x := s.mail.extras[rec.m.ID]; x != nil {
			for _, a := range x.attachments {
				out.Value = append(out.Value, attachmentJSON(a))
			}
		}
		b, _ := json.Marshal(out)
		return jsonResult(b)
	})
}

// sendDraft serves POST .../messages/{id}/send: the draft goes out and
// moves to Sent Items under a new ID. A second send of the same ID finds
// nothing (404), as the draft is gone.
func (s *Server) sendDraft(rc *reqCtx) *result {
	return s.inDraftBox(rc, func(mb *mailbox, actor *userRec) *result {
		rec, res := s.msgFromRoute(rc, mb)
		if res != nil {
			return res
		}
		if !rec.m.IsDraft {
			return s.fail(rc, http.StatusBadRequest, "ErrorInvalidOperation", "The item has already been sent.")
		}
		m := rec.m.clone()
		x := s.mail.extra(rec.m.ID)
		if res := s.deliver(rc, mb, actor, &m, x, true); res != nil {
			return res
		}
		s.deleteMessageLocked(mb, rec)
		delete(s.mail.extras, rec.m.ID)
		return &result{status: http.StatusAccepted, header: http.Header{}}
	})
}

// sendMail serves POST /users/{id}/sendMail.
func (s *Server) sendMail(rc *reqCtx) *result {
	var w struct {
		Message         *wireMessage `json:"message"`
		SaveToSentItems *bool        `json:"saveToSentItems"`
	}
	if res := s.decode(rc, &w); res != nil {
		return res
	}
	if w.Message == nil {
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "The message parameter is required.")
	}
	return s.inDraftBox(rc, func(mb *mailbox, actor *userRec) *result {
		m := Message{Importance: "normal"}
		x := &msgExtra{props: map[string]string{}}
		if res := s.apply(rc, w.Message, &m, x); res != nil {
			return res
		}
		owner := s.userByKey[strings.ToLower(mb.userID)]
		s.mail.n++
		m.InternetMessageID = internetMessageID(mb.key^0x6d61696c, s.mail.n, domainOf(owner.u.Mail))
		m.ConversationID = itemID(mb.key^0x6d61696c, kindConversation, s.mail.n)
		save := w.SaveToSentItems == nil || *w.SaveToSentItems
		if res := s.deliver(rc, mb, actor, &m, x, save); res != nil {
			return res
		}
		return &result{status: http.StatusAccepted, header: http.Header{}}
	})
}

// deliver runs Exchange's checks on m and sends it: a copy in Sent Items
// (when save) and a Delivery. Call with s.mu held.
func (s *Server) deliver(rc *reqCtx, mb *mailbox, actor *userRec, m *Message, x *msgExtra, save bool) *result {
	if allowed := s.mail.sendAllowed; allowed != nil && !allowed(bearer(rc.r), rc.r) {
		return s.mailAccessDenied(rc)
	}
	owner := s.userByKey[strings.ToLower(mb.userID)]
	from := m.From
	if from.Address == "" {
		from = Address{Name: owner.u.DisplayName, Address: owner.u.Mail}
	}
	fu := s.userByMail(from.Address)
	var sender Address
	switch {
	case fu == nil:
		return s.sendAsDenied(rc)
	case fu == actor, s.mail.grants[[2]string{fu.u.ID, actor.u.ID}].SendAs:
		sender = Address{Name: fu.u.DisplayName, Address: fu.u.Mail}
	case s.mail.grants[[2]string{fu.u.ID, actor.u.ID}].SendOnBehalf:
		sender = Address{Name: actor.u.DisplayName, Address: actor.u.Mail}
	default:
		return s.sendAsDenied(rc)
	}
	if from.Name == "" {
		from.Name = fu.u.DisplayName
	}
	all := slices3(m.To, m.Cc, m.Bcc)
	if len(all) == 0 {
		return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid., A message can't be sent because it contains no recipients.")
	}
	for _, a := range all {
		if !plausibleAddress(a.Address) {
			return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid., Recipient '"+a.Address+"' is not resolved. All recipients must be resolved before a message can be submitted.")
		}
	}
	size := int64(len(m.Body))
	for _, a := range x.attachments {
		size += int64(len(a.Content))
	}
	limit := s.mail.maxSize
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	if size > limit {
		return s.fail(rc, http.StatusBadRequest, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size., Cannot save changes made to an item to store.")
	}
	now := s.now().UTC().Truncate(time.Second)
	m.From, m.Sender = from, sender
	m.IsDraft, m.IsRead = false, true
	m.SentDateTime, m.ReceivedDateTime = now, now
	m.CreatedDateTime, m.LastModifiedDateTime = now, now
	m.HasAttachments = len(x.attachments) > 0
	d := Delivery{
		Mailbox: mb.userID, From: from, Sender: sender,
		To: cloneSlice(m.To), Cc: cloneSlice(m.Cc), Bcc: cloneSlice(m.Bcc), ReplyTo: cloneSlice(m.ReplyTo),
		Subject: m.Subject, Body: m.Body, BodyContentType: m.BodyContentType, Importance: m.Importance,
		Categories: cloneSlice(m.Categories), InternetMessageID: m.InternetMessageID, ConversationID: m.ConversationID,
		InReplyTo: x.inReplyTo, References: x.references, Attachments: cloneAttachments(x.attachments),
		SentDateTime: now,
	}
	if len(x.props) > 0 {
		d.ExtendedProperties = maps.Clone(x.props)
	}
	if save {
		sent := *m
		sent.ID, sent.ChangeKey = "", ""
		rec := s.addMessageLocked(mb, mb.wellKnown["sentitems"], sent)
		s.mail.extras = mapWith(s.mail.extras, rec.m.ID, &msgExtra{
			props: maps.Clone(x.props), attachments: cloneAttachments(x.attachments),
			inReplyTo: x.inReplyTo, references: x.references,
		})
		d.SentItemID = rec.m.ID
	}
	s.mail.delivered = append(s.mail.delivered, d)
	return nil
}

func (s *Server) sendAsDenied(rc *reqCtx) *result {
	return s.fail(rc, http.StatusForbidden, "ErrorSendAsDenied", "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.")
}

// userByMail finds a user by mail address or UPN. Call with s.mu held.
func (s *Server) userByMail(addr string) *userRec {
	if u := s.userByKey[strings.ToLower(addr)]; u != nil {
		return u
	}
	for _, u := range s.users {
		if strings.EqualFold(u.u.Mail, addr) {
			return u
		}
	}
	return nil
}

func slices3(a, b, c []Address) []Address {
	out := make([]Address, 0, len(a)+len(b)+len(c))
	return append(append(append(out, a...), b...), c...)
}

// plausibleAddress is what the fake resolves: local@domain.tld without
// spaces.
func plausibleAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && !strings.ContainsAny(a, " \t\r\n<>") && strings.Contains(a[at+1:], ".")
}

// matchProp reports whether the message carries the property f asks
// for; a nil f matches every message. Call with s.mu held.
func (ms *mailState) matchProp(f *propFilter, id string) bool {
	if f == nil {
		return true
	}
	x := ms.extras[id]
	if x == nil {
		return false
	}
	for k, v := range x.props {
		if f.idMatches(k) && strings.EqualFold(v, f.value) {
			return true
		}
	}
	return false
}

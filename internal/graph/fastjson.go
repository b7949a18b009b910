package graph

import (
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/m365link/m365link"
)

// The fast decoder reads a message page in one pass over the bytes, without
// reflection, straight into the shared vocabulary. It accepts exactly the
// shape Graph sends for messages and gives up (ok == false) on anything
// else: a different JSON type for a known field, a key that differs from a
// known one only in case, invalid UTF-8, an unknown escape. The caller then
// decodes the page with encoding/json, so every input gets the answer
// encoding/json plus the lenient reader would give; a fuzz test holds the
// two paths to the same result. Strings that repeat within a page
// (addresses, names, folder IDs) are allocated once per page.

type fastScanner struct {
	b       []byte
	i       int
	intern  map[string]string
	scratch []byte
	addrs   []m365link.EmailAddress
}

// decodeMessagesFast decodes a message page, or reports false.
func decodeMessagesFast(data []byte) (*Page[Message], bool) {
	s := fastScanner{b: data, intern: make(map[string]string, 64)}
	page := &Page[Message]{}
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "value":
			return s.messages(page)
		case "@odata.nextLink":
			return s.optString(&page.NextLink, false)
		case "@odata.deltaLink":
			return s.optString(&page.DeltaLink, false)
		}
		return s.unknown(key, "value", "@odata.nextLink", "@odata.deltaLink")
	})
	if !ok || !s.end() {
		return nil, false
	}
	return page, true
}

func (s *fastScanner) messages(page *Page[Message]) bool {
	s.ws()
	if s.literal("null") {
		page.Value = nil
		return true
	}
	if !s.consume('[') {
		return false
	}
	page.Value = make([]Message, 0, 1000)
	if s.consume(']') {
		return true
	}
	for {
		page.Value = append(page.Value, Message{})
		m := &page.Value[len(page.Value)-1]
		if !s.message(m) {
			return false
		}
		if m.ID == "" {
			// Only the slow path reports items without an ID.
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

var messageKeys = []string{"id", "@removed", "changeKey", "parentFolderId", "internetMessageId", "conversationId",
	"subject", "bodyPreview", "body", "from", "sender", "toRecipients", "ccRecipients", "bccRecipients", "replyTo",
	"receivedDateTime", "sentDateTime", "lastModifiedDateTime", "isRead", "isDraft", "hasAttachments",
	"importance", "categories", "webLink"}

func (s *fastScanner) message(m *Message) bool {
	return s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "id":
			ok = s.optString(&m.ID, false)
		case "@removed":
			ok = s.removed(m)
		case "changeKey":
			ok = s.optString(&m.ChangeKey, false)
		case "parentFolderId":
			ok = s.optString(&m.FolderID, true)
		case "internetMessageId":
			ok = s.optString(&m.InternetMessageID, false)
		case "conversationId":
			ok = s.optString(&m.ConversationID, true)
		case "subject":
			ok = s.optString(&m.Subject, false)
		case "bodyPreview":
			ok = s.optString(&m.BodyPreview, false)
		case "body":
			ok = s.body(m)
		case "from":
			ok = s.recipient(&m.From)
		case "sender":
			ok = s.recipient(&m.Sender)
		case "toRecipients":
			m.To, ok = s.recipients()
		case "ccRecipients":
			m.Cc, ok = s.recipients()
		case "bccRecipients":
			m.Bcc, ok = s.recipients()
		case "replyTo":
			m.ReplyTo, ok = s.recipients()
		case "receivedDateTime":
			m.ReceivedAt, ok = s.time()
		case "sentDateTime":
			m.SentAt, ok = s.time()
		case "lastModifiedDateTime":
			m.LastModified, ok = s.time()
		case "isRead":
			m.IsRead, ok = s.boolean()
		case "isDraft":
			m.IsDraft, ok = s.boolean()
		case "hasAttachments":
			m.HasAttachments, ok = s.boolean()
		case "importance":
			ok = s.optString(&m.Importance, true)
		case "categories":
			m.Categories, ok = s.strings()
		case "webLink":
			ok = s.optString(&m.WebLink, false)
		default:
			ok = s.unknown(key, messageKeys...)
		}
		return ok
	})
}

func (s *fastScanner) removed(m *Message) bool {
	s.ws()
	if s.literal("null") {
		m.Removed = nil
		return true
	}
	if m.Removed == nil {
		m.Removed = &Removed{}
	}
	return s.object(func(key []byte) bool {
		if string(key) == "reason" {
			return s.optString(&m.Removed.Reason, true)
		}
		return s.unknown(key, "reason")
	})
}

func (s *fastScanner) body(m *Message) bool {
	s.ws()
	if s.literal("null") {
		m.Body, m.BodyContentType = "", ""
		return true
	}
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "contentType":
			ct := m.BodyContentType
			if !s.optString(&ct, true) {
				return false
			}
			m.BodyContentType = strings.ToLower(ct)
			return true
		case "content":
			return s.optString(&m.Body, false)
		}
		return s.unknown(key, "contentType", "content")
	})
}

// recipient reads {"emailAddress":{"name":…,"address":…}} or null into a,
// merging like encoding/json does when a key repeats.
func (s *fastScanner) recipient(a *m365link.EmailAddress) bool {
	if s.null() {
		return true
	}
	return s.object(func(key []byte) bool {
		if string(key) == "emailAddress" {
			return s.address(a)
		}
		return s.unknown(key, "emailAddress")
	})
}

func (s *fastScanner) address(a *m365link.EmailAddress) bool {
	if s.null() {
		return true
	}
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "name":
			return s.optString(&a.Name, true)
		case "address":
			return s.optString(&a.Address, true)
		}
		return s.unknown(key, "name", "address")
	})
}

// null consumes a null literal.
func (s *fastScanner) null() bool {
	s.ws()
	return s.literal("null")
}

// object reads a JSON object, calling field for each key with the scanner
// positioned at its value; field reads (or skips) the value.
func (s *fastScanner) object(field func(key []byte) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		key, ok := s.key()
		if !ok || !field(key) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// unknown skips the value of a key the decoder does not read, but refuses
// a case variant of a known name: encoding/json would match it.
func (s *fastScanner) unknown(key []byte, known ...string) bool {
	return !foldsTo(key, known...) && s.skip(0)
}

// recipients reads an array of recipients into one exactly sized slice
// (nil when empty, as the slow path gives).
func (s *fastScanner) recipients() ([]m365link.EmailAddress, bool) {
	s.ws()
	if s.literal("null") {
		return nil, true
	}
	if !s.consume('[') {
		return nil, false
	}
	if s.consume(']') {
		return nil, true
	}
	s.addrs = s.addrs[:0]
	for {
		var a m365link.EmailAddress
		if !s.recipient(&a) {
			return nil, false
		}
		s.addrs = append(s.addrs, a)
		if s.consume(',') {
			continue
		}
		if !s.consume(']') {
			return nil, false
		}
		out := make([]m365link.EmailAddress, len(s.addrs))
		copy(out, s.addrs)
		return out, true
	}
}

func (s *fastScanner) strings() ([]string, bool) {
	s.ws()
	if s.literal("null") {
		return nil, true
	}
	if !s.consume('[') {
		return nil, false
	}
	if s.consume(']') {
		return nil, true
	}
	var out []string
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return nil, false
		}
		v, ok := s.str(true)
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if s.consume(',') {
			continue
		}
		return out, s.consume(']')
	}
}

func (s *fastScanner) time() (time.Time, bool) {
	s.ws()
	if s.literal("null") {
		return time.Time{}, true
	}
	raw, ok := s.rawString()
	if !ok {
		return time.Time{}, false
	}
	t, ok := parseTime(string(raw))
	return t, ok
}

// boolean reads true, false or null; anything else (a string spelling a
// boolean) goes to the slow path.
func (s *fastScanner) boolean() (bool, bool) {
	s.ws()
	switch {
	case s.literal("true"):
		return true, true
	case s.literal("false"), s.literal("null"):
		return false, true
	}
	return false, false
}

// optString reads a string into dst, or null, which leaves dst as it is
// (as encoding/json does). intern shares the result among equal strings of
// the page.
func (s *fastScanner) optString(dst *string, intern bool) bool {
	s.ws()
	if s.literal("null") {
		return true
	}
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	v, ok := s.str(intern)
	if ok {
		*dst = v
	}
	return ok
}

func (s *fastScanner) str(intern bool) (string, bool) {
	raw, ok := s.rawString()
	if !ok {
		return "", false
	}
	if !intern {
		return string(raw), true
	}
	if v, ok := s.intern[string(raw)]; ok {
		return v, true
	}
	v := string(raw)
	s.intern[v] = v
	return v, true
}

// rawString reads a string at s.i and returns its unescaped bytes, which
// alias the input or the scanner's scratch buffer until the next call.
func (s *fastScanner) rawString() ([]byte, bool) {
	b := s.b
	i := s.i
	if i >= len(b) || b[i] != '"' {
		return nil, false
	}
	i++
	start := i
	ascii := true
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			raw := b[start:i]
			if !ascii && !utf8.Valid(raw) {
				return nil, false
			}
			s.i = i + 1
			return raw, true
		case c == '\\':
			return s.escapedString(start, i)
		case c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
		i++
	}
	return nil, false
}

func (s *fastScanner) escapedString(start, i int) ([]byte, bool) {
	b := s.b
	out := append(s.scratch[:0], b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return nil, false
			}
			s.i = i + 1
			s.scratch = out
			return out, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return nil, false
		}
		switch b[i+1] {
		case '"', '\\', '/':
			out = append(out, b[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(b, i+2)
			if !ok {
				return nil, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// Must be a valid pair; lone surrogates go to the slow path,
				// which replaces them as encoding/json does.
				if i+1 >= len(b) || b[i] != '\\' || b[i+1] != 'u' {
					return nil, false
				}
				r2, ok := hex4(b, i+2)
				if !ok {
					return nil, false
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return nil, false
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	return nil, false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// key reads an object key and the colon after it.
func (s *fastScanner) key() ([]byte, bool) {
	s.ws()
	k, ok := s.rawString()
	if !ok {
		return nil, false
	}
	// The scratch buffer may be reused by the value; keys with escapes are
	// rare enough to copy.
	if len(k) > 0 && cap(s.scratch) > 0 && &k[0] == &s.scratch[:1][0] {
		k = append([]byte(nil), k...)
	}
	return k, s.consume(':')
}

// skip validates and skips any JSON value.
func (s *fastScanner) skip(depth int) bool {
	if depth > 512 {
		return false
	}
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.rawString()
		return ok
	case c == '{':
		s.i++
		if s.consume('}') {
			return true
		}
		for {
			if _, ok := s.key(); !ok || !s.skip(depth+1) {
				return false
			}
			if s.consume(',') {
				continue
			}
			return s.consume('}')
		}
	case c == '[':
		s.i++
		if s.consume(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.consume(',') {
				continue
			}
			return s.consume(']')
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

// number skips a number, checking JSON's grammar.
func (s *fastScanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	s.i = i
	return true
}

func (s *fastScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *fastScanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *fastScanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// end reports whether only whitespace follows.
func (s *fastScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// foldsTo reports whether key is a case variant of one of the names:
// encoding/json would match it to that field, so the fast path must not
// silently skip it.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if len(n) == len(key) && strings.EqualFold(n, string(key)) {
			return true
		}
	}
	return false
}

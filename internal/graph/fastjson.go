package graph

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/m365link/m365link"
)

// The fast decoder reads a message page in one pass over the bytes, without
// reflection, straight into the shared vocabulary. It gives every item the
// answer the per-item slow path (encoding/json into messageJSON, then the
// lenient reader; see decodeItems) would give, and a fuzz test holds the two
// to the same result on every input:
//
//   - The drift encoding/json reads with the wire types' help is read here
//     too: keys in any case, booleans as strings or 0/1, timestamps with
//     seven fractional digits and no offset, null where an object belongs.
//   - An item with anything else (a string where an object belongs, a number
//     for a string, a duplicated list, invalid UTF-8) is decoded again on its
//     own by the slow path; the rest of the page stays on the fast path.
//   - Only a page that is not valid JSON, or whose envelope is odd (a
//     repeated "value", a link that is not a string), is left whole to the
//     slow path, which then reports the same error or page.
//
// Allocation: a message's ID is its own string (hosts key on it); its other
// text fields share one allocation, and its recipient lists another.
// Addresses, names, folder IDs, categories and other strings that repeat
// come from a small intern table that lives as long as the pooled decoder.
// Nothing aliases the input, which the caller reuses.

// fastScanner is the decoder's state; one is pooled and reused per page.
type fastScanner struct {
	b []byte
	i int

	// Per message, reset by beginItem.
	esc   []byte                  // unescaped text of strings with escapes
	texts []textRef               // text fields, copied into one string at the end
	addrs []m365link.EmailAddress // recipients of every list
	lists [4]addrSpan             // to, cc, bcc, replyTo within addrs
	cats  []string
	catsN int // -1: categories absent or null

	names internTable
	keys  keyOrder
	slow  int // items decoded again by the slow path (for tests)
}

// textRef is a text field waiting for its message's string: bytes [off,
// off+n) of the input, or of esc.
type textRef struct {
	dst    *string
	off, n int
	esc    bool
}

type addrSpan struct{ from, to int }

var scannerPool = gosync.Pool{New: func() any {
	return &fastScanner{names: internTable{seed: maphash.MakeSeed()}}
}}

// itemBytes is the mean size of an item in the last message page decoded
// (of 16 items or more): it sizes the next page's Value, so that a page is
// decoded in place, neither copied nor grown, and a small page gets a
// small slice.
var itemBytes atomic.Int64

// pageCapacity guesses how many items a page of n bytes holds: by the last
// page's mean, with a little room, and never more than 1,024 (Graph's
// largest page is 1,000; more grows by append).
func pageCapacity(n int) int {
	per := int(itemBytes.Load())
	if per <= 0 {
		per = 1024
	}
	c := n / per
	return min(c+c/16+4, 1024)
}

// decodeMessagesFast decodes a message page and tells how many of its items
// went to the slow path. It reports false, and decodes nothing, for a page
// it leaves whole to the slow path.
func decodeMessagesFast(data []byte) (page *Page[Message], slowItems int, ok bool) {
	s := scannerPool.Get().(*fastScanner)
	page, ok = s.page(data)
	slowItems = s.slow
	clear(s.addrs[:cap(s.addrs)])
	clear(s.cats[:cap(s.cats)])
	clear(s.texts[:cap(s.texts)])
	s.b, s.addrs, s.cats, s.texts = nil, s.addrs[:0], s.cats[:0], s.texts[:0]
	scannerPool.Put(s)
	if ok && len(page.Value) >= 16 {
		itemBytes.Store(int64(len(data) / len(page.Value)))
	}
	return page, slowItems, ok
}

func (s *fastScanner) page(data []byte) (*Page[Message], bool) {
	s.b, s.i, s.slow = data, 0, 0
	page := &Page[Message]{Value: make([]Message, 0, pageCapacity(len(data)))}
	if !s.consume('{') {
		return nil, false
	}
	seenValue := false
	if !s.consume('}') {
		for {
			key, ok := s.key()
			if !ok {
				return nil, false
			}
			switch pageField(key) {
			case pageValue:
				if seenValue {
					return nil, false
				}
				seenValue = true
				ok = s.items(page)
			case pageNext:
				ok = s.link(&page.NextLink)
			case pageDelta:
				ok = s.link(&page.DeltaLink)
			default:
				ok = s.skip(0)
			}
			if !ok {
				return nil, false
			}
			if s.consume(',') {
				continue
			}
			if !s.consume('}') {
				return nil, false
			}
			break
		}
	}
	if !s.end() {
		return nil, false
	}
	return page, true
}

const (
	pageOther = iota
	pageValue
	pageNext
	pageDelta
)

var pageKeys = [...]string{pageValue: "value", pageNext: "@odata.nextLink", pageDelta: "@odata.deltaLink"}

func pageField(key []byte) int {
	switch string(key) {
	case "value":
		return pageValue
	case "@odata.nextLink":
		return pageNext
	case "@odata.deltaLink":
		return pageDelta
	}
	return foldKey(key, pageKeys[:])
}

// link reads a string or null (which leaves dst as it is).
func (s *fastScanner) link(dst *string) bool {
	if s.null() {
		return true
	}
	text, _, ok := s.str()
	if ok {
		*dst = string(text)
	}
	return ok
}

// items reads the value array. An item the fast path does not take is
// validated, cut out and decoded on its own by the slow path.
func (s *fastScanner) items(page *Page[Message]) bool {
	if s.null() {
		return true
	}
	if !s.consume('[') {
		return false
	}
	if s.consume(']') {
		return true
	}
	for index := 0; ; index++ {
		s.ws()
		start := s.i
		page.Value = append(page.Value, Message{})
		m := &page.Value[len(page.Value)-1]
		s.beginItem()
		ok := start < len(s.b) && s.b[start] == '{' && s.message(m)
		if ok {
			s.endItem(m)
		} else {
			s.i = start
			if !s.skip(0) {
				return false
			}
			s.slow++
			*m = Message{}
			if err := decodeItem[Message](s.b[start:s.i], index, m); err != nil {
				page.ItemErrors = append(page.ItemErrors, err)
				*m = Message{}
				page.Value = page.Value[:len(page.Value)-1]
			}
		}
		if ok && m.ID == "" {
			page.ItemErrors = append(page.ItemErrors, &m365link.ItemError{Index: index, Err: errNoID})
			*m = Message{}
			page.Value = page.Value[:len(page.Value)-1]
		}
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

func (s *fastScanner) beginItem() {
	s.esc, s.texts, s.addrs = s.esc[:0], s.texts[:0], s.addrs[:0]
	s.lists = [4]addrSpan{}
	s.cats, s.catsN = s.cats[:0], -1
}

// endItem gives the message its text fields, all in one string, and its
// recipient lists, all in one array.
func (s *fastScanner) endItem(m *Message) {
	if len(s.texts) > 0 {
		total := 0
		for _, t := range s.texts {
			total += t.n
		}
		var sb strings.Builder
		sb.Grow(total)
		for _, t := range s.texts {
			src := s.b
			if t.esc {
				src = s.esc
			}
			sb.Write(src[t.off : t.off+t.n])
		}
		all := sb.String()
		at := 0
		for _, t := range s.texts {
			*t.dst = all[at : at+t.n]
			at += t.n
		}
	}
	if len(s.addrs) > 0 {
		block := make([]m365link.EmailAddress, len(s.addrs))
		copy(block, s.addrs)
		for k, dst := range [4]*[]m365link.EmailAddress{&m.To, &m.Cc, &m.Bcc, &m.ReplyTo} {
			if l := s.lists[k]; l.to > l.from {
				*dst = block[l.from:l.to:l.to]
			}
		}
	}
	if s.catsN > 0 {
		m.Categories = append([]string(nil), s.cats...)
	}
}

// Message fields, in messageJSON's order.
const (
	fOther = iota
	fID
	fRemoved
	fChangeKey
	fParentFolderID
	fInternetMessageID
	fConversationID
	fSubject
	fBodyPreview
	fBody
	fFrom
	fSender
	fTo
	fCc
	fBcc
	fReplyTo
	fReceived
	fSent
	fLastModified
	fIsRead
	fIsDraft
	fHasAttachments
	fImportance
	fCategories
	fWebLink
)

var messageKeys = [...]string{fID: "id", fRemoved: "@removed", fChangeKey: "changeKey", fParentFolderID: "parentFolderId",
	fInternetMessageID: "internetMessageId", fConversationID: "conversationId", fSubject: "subject",
	fBodyPreview: "bodyPreview", fBody: "body", fFrom: "from", fSender: "sender", fTo: "toRecipients",
	fCc: "ccRecipients", fBcc: "bccRecipients", fReplyTo: "replyTo", fReceived: "receivedDateTime",
	fSent: "sentDateTime", fLastModified: "lastModifiedDateTime", fIsRead: "isRead", fIsDraft: "isDraft",
	fHasAttachments: "hasAttachments", fImportance: "importance", fCategories: "categories", fWebLink: "webLink"}

func messageField(key []byte) int {
	switch string(key) {
	case "id":
		return fID
	case "@removed":
		return fRemoved
	case "changeKey":
		return fChangeKey
	case "parentFolderId":
		return fParentFolderID
	case "internetMessageId":
		return fInternetMessageID
	case "conversationId":
		return fConversationID
	case "subject":
		return fSubject
	case "bodyPreview":
		return fBodyPreview
	case "body":
		return fBody
	case "from":
		return fFrom
	case "sender":
		return fSender
	case "toRecipients":
		return fTo
	case "ccRecipients":
		return fCc
	case "bccRecipients":
		return fBcc
	case "replyTo":
		return fReplyTo
	case "receivedDateTime":
		return fReceived
	case "sentDateTime":
		return fSent
	case "lastModifiedDateTime":
		return fLastModified
	case "isRead":
		return fIsRead
	case "isDraft":
		return fIsDraft
	case "hasAttachments":
		return fHasAttachments
	case "importance":
		return fImportance
	case "categories":
		return fCategories
	case "webLink":
		return fWebLink
	case "@odata.type", "@odata.etag":
		return fOther
	}
	return foldKey(key, messageKeys[:])
}

// foldKey finds a key among names as encoding/json does when no name
// matches exactly: equal under Unicode case folding ("IsRead", "ſubject").
// It returns the index of the name, or 0 (every table leaves 0 unused).
func foldKey(key []byte, names []string) int {
	ascii := true
	for _, c := range key {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	for i, n := range names {
		if n == "" || ascii && len(n) != len(key) {
			continue
		}
		if bytes.EqualFold(key, []byte(n)) {
			return i
		}
	}
	return 0
}

// message reads one item; false leaves it to the slow path (or the page,
// when the bytes are not JSON).
func (s *fastScanner) message(m *Message) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for j := 0; ; j++ {
		s.ws()
		f, ok := s.predictedKey(j)
		if !ok {
			start := s.i
			key, ok := s.key()
			if !ok {
				return false
			}
			f = messageField(key)
			s.learnKey(j, s.b[start:s.i], f)
		}
		if !s.field(m, f) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// Graph writes the keys of every message in the same order. The scanner
// remembers the raw bytes (quotes and colon included) and the field of the
// j-th key of the last messages, two per position so that drifted items
// among tidy ones are remembered too; when a message has the same bytes
// there, its key is read with one comparison.
type keyOrder struct {
	buf []byte
	pos [][2]keyAt
}

type keyAt struct {
	off, n int
	field  int
	older  bool // the one to replace next
}

// maxKeyBytes bounds the remembered keys; past it they are learnt anew.
const maxKeyBytes = 4096

func (s *fastScanner) predictedKey(j int) (int, bool) {
	o := &s.keys
	if j >= len(o.pos) {
		return 0, false
	}
	for _, k := range &o.pos[j] {
		if k.n > 0 && len(s.b)-s.i >= k.n && string(s.b[s.i:s.i+k.n]) == string(o.buf[k.off:k.off+k.n]) {
			s.i += k.n
			return k.field, true
		}
	}
	return 0, false
}

func (s *fastScanner) learnKey(j int, raw []byte, f int) {
	o := &s.keys
	if len(o.buf)+len(raw) > maxKeyBytes {
		o.buf, o.pos = o.buf[:0], o.pos[:0]
	}
	if j > len(o.pos) {
		return
	}
	if j == len(o.pos) {
		o.pos = append(o.pos, [2]keyAt{{older: true}, {}})
	}
	p := &o.pos[j]
	v := 0
	if p[1].older {
		v = 1
	}
	p[v] = keyAt{off: len(o.buf), n: len(raw), field: f}
	p[1-v].older = true
	o.buf = append(o.buf, raw...)
}

func (s *fastScanner) field(m *Message, f int) bool {
	switch f {
	case fID:
		return s.idString(&m.ID)
	case fRemoved:
		return s.removed(m)
	case fChangeKey:
		return s.text(&m.ChangeKey)
	case fParentFolderID:
		return s.name(&m.FolderID)
	case fInternetMessageID:
		return s.text(&m.InternetMessageID)
	case fConversationID:
		return s.text(&m.ConversationID)
	case fSubject:
		return s.text(&m.Subject)
	case fBodyPreview:
		return s.text(&m.BodyPreview)
	case fBody:
		return s.body(m)
	case fFrom:
		return s.recipient(&m.From)
	case fSender:
		return s.recipient(&m.Sender)
	case fTo, fCc, fBcc, fReplyTo:
		return s.recipients(&s.lists[f-fTo])
	case fReceived:
		return s.time(&m.ReceivedAt)
	case fSent:
		return s.time(&m.SentAt)
	case fLastModified:
		return s.time(&m.LastModified)
	case fIsRead:
		return s.boolean(&m.IsRead)
	case fIsDraft:
		return s.boolean(&m.IsDraft)
	case fHasAttachments:
		return s.boolean(&m.HasAttachments)
	case fImportance:
		return s.name(&m.Importance)
	case fCategories:
		return s.categories()
	case fWebLink:
		return s.text(&m.WebLink)
	}
	return s.skip(0)
}

// idString reads a string into its own allocation, or null, which leaves
// dst as it is (as encoding/json does).
func (s *fastScanner) idString(dst *string) bool {
	if s.null() {
		return true
	}
	text, _, ok := s.str()
	if ok {
		*dst = string(text)
	}
	return ok
}

// text reads a string that goes into the message's shared text, or null.
func (s *fastScanner) text(dst *string) bool {
	if s.null() {
		return true
	}
	text, escaped, ok := s.str()
	if !ok {
		return false
	}
	off := s.i - 1 - len(text)
	if escaped {
		off = len(s.esc) - len(text)
	}
	s.texts = append(s.texts, textRef{dst: dst, off: off, n: len(text), esc: escaped})
	return true
}

// name reads a string that likely repeats (an address, a folder ID), or null.
func (s *fastScanner) name(dst *string) bool {
	if s.null() {
		return true
	}
	text, _, ok := s.str()
	if ok {
		*dst = s.names.get(text)
	}
	return ok
}

func (s *fastScanner) removed(m *Message) bool {
	if s.null() {
		m.Removed = nil
		return true
	}
	if !s.consume('{') {
		return false
	}
	if m.Removed == nil {
		m.Removed = &Removed{}
	}
	return s.object(func(key []byte) bool {
		if string(key) == "reason" || foldKey(key, reasonKeys[:]) == 1 {
			return s.name(&m.Removed.Reason)
		}
		return s.skip(0)
	})
}

var (
	reasonKeys  = [...]string{1: "reason"}
	bodyKeys    = [...]string{1: "contentType", 2: "content"}
	wrapperKeys = [...]string{1: "emailAddress"}
	addressKeys = [...]string{1: "name", 2: "address"}
)

// body reads itemBody into Body and BodyContentType (lower case, as the
// slow path gives it), merging like encoding/json when the key repeats.
func (s *fastScanner) body(m *Message) bool {
	if s.null() {
		m.Body, m.BodyContentType = "", ""
		s.dropTexts(&m.Body)
		return true
	}
	if !s.consume('{') {
		return false
	}
	return s.object(func(key []byte) bool {
		k := 0
		switch string(key) {
		case "contentType":
			k = 1
		case "content":
			k = 2
		default:
			k = foldKey(key, bodyKeys[:])
		}
		switch k {
		case 1:
			ct := m.BodyContentType
			if !s.name(&ct) {
				return false
			}
			m.BodyContentType = s.names.lower(ct)
			return true
		case 2:
			return s.text(&m.Body)
		}
		return s.skip(0)
	})
}

// dropTexts forgets the pending text fields for dst.
func (s *fastScanner) dropTexts(dst *string) {
	out := s.texts[:0]
	for _, t := range s.texts {
		if t.dst != dst {
			out = append(out, t)
		}
	}
	s.texts = out
}

// recipient reads {"emailAddress":{"name":…,"address":…}} or null into a,
// merging like encoding/json does when a key repeats.
func (s *fastScanner) recipient(a *m365link.EmailAddress) bool {
	s.ws()
	if s.prefix(`{"emailAddress":{"name":`) {
		// The shape Graph sends, read without looking keys up.
		start, was := s.i, *a
		s.i += len(`{"emailAddress":{"name":`)
		if s.name(&a.Name) && s.prefix(`,"address":`) {
			s.i += len(`,"address":`)
			if s.name(&a.Address) && s.prefix(`}}`) {
				s.i += len(`}}`)
				return true
			}
		}
		s.i, *a = start, was
	}
	if s.null() {
		return true
	}
	if !s.consume('{') {
		return false
	}
	return s.object(func(key []byte) bool {
		if string(key) == "emailAddress" || foldKey(key, wrapperKeys[:]) == 1 {
			return s.address(a)
		}
		return s.skip(0)
	})
}

func (s *fastScanner) address(a *m365link.EmailAddress) bool {
	if s.null() {
		return true
	}
	if !s.consume('{') {
		return false
	}
	return s.object(func(key []byte) bool {
		k := 0
		switch string(key) {
		case "name":
			k = 1
		case "address":
			k = 2
		default:
			k = foldKey(key, addressKeys[:])
		}
		switch k {
		case 1:
			return s.name(&a.Name)
		case 2:
			return s.name(&a.Address)
		}
		return s.skip(0)
	})
}

// object reads the members of an object whose '{' is consumed, calling
// field with the scanner at each value; field reads (or skips) it.
func (s *fastScanner) object(field func(key []byte) bool) bool {
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

// recipients reads a recipient array into addrs. encoding/json decodes a
// repeated list into the elements of the first, merging them; such items
// go to the slow path.
func (s *fastScanner) recipients(l *addrSpan) bool {
	if s.null() {
		*l = addrSpan{}
		return true
	}
	if l.to > l.from {
		return false
	}
	if !s.consume('[') {
		return false
	}
	*l = addrSpan{from: len(s.addrs), to: len(s.addrs)}
	if s.consume(']') {
		return true
	}
	for {
		var a m365link.EmailAddress
		if !s.recipient(&a) {
			return false
		}
		s.addrs = append(s.addrs, a)
		l.to = len(s.addrs)
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

// categories reads a string array (null elements read as "").
func (s *fastScanner) categories() bool {
	if s.null() {
		s.cats, s.catsN = s.cats[:0], -1
		return true
	}
	if s.catsN > 0 {
		return false // a repeated list merges in encoding/json
	}
	if !s.consume('[') {
		return false
	}
	s.cats, s.catsN = s.cats[:0], 0
	if s.consume(']') {
		return true
	}
	for {
		v := ""
		if !s.null() {
			s.ws()
			if !s.name(&v) {
				return false
			}
		}
		s.cats = append(s.cats, v)
		s.catsN++
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

// time reads a timestamp as [Time] does: from the string's raw bytes.
func (s *fastScanner) time(dst *time.Time) bool {
	if s.null() {
		*dst = time.Time{}
		return true
	}
	text, escaped, ok := s.str()
	if !ok || escaped {
		return false
	}
	*dst, ok = parseTimeBytes(text)
	return ok
}

// boolean reads what [Bool] reads: true, false, null, 0, 1, or a string
// spelling true/false/1/0/yes/no in any case (or empty). Anything else
// (which [Bool] refuses) goes to the slow path.
func (s *fastScanner) boolean(dst *bool) bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case 't':
		*dst = true
		return s.literal("true")
	case 'f':
		*dst = false
		return s.literal("false")
	case 'n':
		*dst = false
		return s.literal("null")
	case '0', '1':
		start := s.i
		if !s.number() || s.i-start != 1 {
			return false
		}
		*dst = s.b[start] == '1'
		return true
	case '"':
		text, escaped, ok := s.str()
		if !ok || escaped || len(text) > 5 {
			return false
		}
		var low [5]byte
		for i, c := range text {
			if c >= utf8.RuneSelf {
				return false
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		switch string(low[:len(text)]) {
		case "true", "1", "yes":
			*dst = true
			return true
		case "false", "0", "no", "":
			*dst = false
			return true
		}
	}
	return false
}

// prefix reports whether the input at s.i starts with p.
func (s *fastScanner) prefix(p string) bool {
	return len(s.b)-s.i >= len(p) && string(s.b[s.i:s.i+len(p)]) == p
}

// null consumes a null literal.
func (s *fastScanner) null() bool {
	s.ws()
	return s.literal("null")
}

// key reads an object key and the colon after it. The key's bytes are
// valid until the next string is read.
func (s *fastScanner) key() ([]byte, bool) {
	s.ws()
	k, _, ok := s.str()
	return k, ok && s.consume(':')
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// nextSpecial returns the index of the first byte from i on that ends or
// interrupts a plain run of string bytes ('"', '\\' or a control byte),
// or len(b), and whether a non-ASCII byte came before it. It reads eight
// bytes at a time: in each word it flags bytes equal to '"' or '\\' or
// below 0x20 with the usual borrow trick; a flag can be spurious only above
// a genuine one, so the lowest flag is exact.
func nextSpecial(b []byte, i int) (int, bool) {
	var high uint64
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ (lsb * '"')
		bs := w ^ (lsb * '\\')
		m := ((q - lsb) &^ q) | ((bs - lsb) &^ bs) | ((w - lsb*0x20) &^ w)
		if m &= msb; m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			high |= w & (1<<(8*n) - 1)
			return i + n, high&msb != 0
		}
		high |= w
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		high |= uint64(c)
	}
	return i, high&msb != 0
}

// str reads the string at s.i. It returns its text, which aliases the input
// or (escaped) the end of s.esc, and false for invalid JSON and for what
// the fast path leaves to encoding/json: invalid UTF-8, lone surrogates.
func (s *fastScanner) str() (text []byte, escaped, ok bool) {
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i + 1
	j, high := nextSpecial(b, start)
	if j >= len(b) {
		return nil, false, false
	}
	switch b[j] {
	case '"':
		text = b[start:j]
		if high && !utf8.Valid(text) {
			return nil, false, false
		}
		s.i = j + 1
		return text, false, true
	case '\\':
		text, ok = s.unescape(start, j)
		return text, true, ok
	}
	return nil, false, false
}

// unescape copies the string from start to s.esc, resolving escapes; j is
// the first backslash.
func (s *fastScanner) unescape(start, j int) ([]byte, bool) {
	b := s.b
	off := len(s.esc)
	out := append(s.esc, b[start:j]...)
	i := j
	for {
		if i >= len(b) {
			return nil, false
		}
		switch c := b[i]; {
		case c == '"':
			s.esc = out
			text := out[off:]
			if !utf8.Valid(text) {
				return nil, false
			}
			s.i = i + 1
			return text, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			k, _ := nextSpecial(b, i)
			out = append(out, b[i:k]...)
			i = k
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
				// Only a valid pair; encoding/json replaces a lone one.
				if i+1 >= len(b) || b[i] != '\\' || b[i+1] != 'u' {
					return nil, false
				}
				r2, ok := hex4(b, i+2)
				if !ok {
					return nil, false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
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

// skipString skips a string, checking only JSON's grammar (any bytes but
// control bytes, valid escapes), as encoding/json's validation does.
func (s *fastScanner) skipString() bool {
	b := s.b
	i := s.i + 1
	for {
		i, _ = nextSpecial(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '"':
			s.i = i + 1
			return true
		case '\\':
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b, i+2); !ok {
					return false
				}
				i += 6
			default:
				return false
			}
		default:
			return false
		}
	}
}

// skip validates and skips any JSON value. Deeper nesting than any Graph
// payload has is left to encoding/json.
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
		return s.skipString()
	case c == '{':
		s.i++
		if s.consume('}') {
			return true
		}
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != '"' || !s.skipString() || !s.consume(':') || !s.skip(depth+1) {
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

// internTable shares strings that repeat across messages and pages:
// addresses, names, folder IDs, importance. It is a cache of two ways per
// set, most recent first, so two hot strings that hash alike do not evict
// each other; a miss replaces the older way, so it never grows and costs
// one hash per lookup.
type internTable struct {
	seed maphash.Seed
	sets [internSets][2]string
}

const (
	internSets  = 512
	maxInterned = 256 // longer strings rarely repeat
)

func (t *internTable) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInterned {
		return string(b)
	}
	set := &t.sets[maphash.Bytes(t.seed, b)&(internSets-1)]
	if string(b) == set[0] {
		return set[0]
	}
	if string(b) == set[1] {
		set[0], set[1] = set[1], set[0]
		return set[0]
	}
	set[1], set[0] = set[0], string(b)
	return set[0]
}

// lower returns strings.ToLower(v), shared when it differs from v.
func (t *internTable) lower(v string) string {
	l := strings.ToLower(v)
	if l == v {
		return v
	}
	return t.get([]byte(l))
}

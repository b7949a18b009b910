package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/m365link/m365link"
)

// Page is one page of a Graph collection: its items and the link to the next
// page (NextLink) or, at the end of a delta round, the cursor for the next
// round (DeltaLink).
type Page[T any] struct {
	Value     []T
	NextLink  string
	DeltaLink string
	// ItemErrors lists the items that could not be understood even leniently
	// (not an object, no ID); they are left out of Value. A page with item
	// errors is still a page: one odd item never stalls a mailbox.
	ItemErrors []*m365link.ItemError
}

// Item is the constraint for page element types ([Message], [Event],
// [Contact]).
type Item[T any] interface {
	*T
	itemID() string
	decodeStrict(b []byte) error
	fillLenient(m map[string]any) error
}

// DecodePage decodes a Graph collection page. Every item is decoded with
// encoding/json into its wire struct, whose leaf types read Graph's drift
// (keys in any case, booleans as strings, timestamps without offset, null
// objects); an item that fails that is read leniently (a bare address where
// an object belongs, numbers for strings); only an item that cannot be
// understood at all is reported in ItemErrors. Message pages, the hot path,
// get the same answer from a single-pass decoder written for their shape,
// which hands only the items it does not expect to encoding/json. A body
// that is not a JSON collection page (truncated, garbage) yields an error
// matching [m365link.ErrMalformedResponse].
//
// Nothing decoded aliases data. On a message page, a message's ID is a
// string of its own, while its other text fields (subject, preview, body,
// links, change key, Message-ID, conversation) share one allocation, as do
// its recipient lists: keeping one of those strings keeps that message's
// text alive.
func DecodePage[T any, P Item[T]](data []byte) (*Page[T], error) {
	switch any((*T)(nil)).(type) {
	case *Message:
		if mp, _, ok := decodeMessagesFast(data); ok {
			return any(mp).(*Page[T]), nil
		}
	case *Event:
		if ep, ok := decodeWhole[eventJSON](data, func(e *Event) string { return e.ID }); ok {
			return any(ep).(*Page[T]), nil
		}
	case *Contact:
		if cp, ok := decodeWhole[contactJSON](data, func(c *Contact) string { return c.ID }); ok {
			return any(cp).(*Page[T]), nil
		}
	}
	return decodeItems[T, P](data)
}

// decodeWhole decodes a page whose every item decodes strictly into its
// wire struct W in one pass of encoding/json (rather than a pass to split
// the items and one per item); ok is false when any item does not (a type
// Graph drifted on, a null, an item without ID), and the page is then
// decoded item by item, which reports or reads leniently the odd ones.
func decodeWhole[W any, T any, PW interface {
	*W
	vocab() T
}](data []byte, id func(*T) string) (*Page[T], bool) {
	var raw struct {
		Value     []W    `json:"value"`
		NextLink  string `json:"@odata.nextLink"`
		DeltaLink string `json:"@odata.deltaLink"`
	}
	if json.Unmarshal(data, &raw) != nil {
		return nil, false
	}
	page := &Page[T]{NextLink: raw.NextLink, DeltaLink: raw.DeltaLink, Value: make([]T, len(raw.Value))}
	for i := range raw.Value {
		page.Value[i] = PW(&raw.Value[i]).vocab()
		if id(&page.Value[i]) == "" {
			return nil, false
		}
	}
	return page, true
}

var errNoID = errors.New("item has no id")

func decodeItems[T any, P Item[T]](data []byte) (*Page[T], error) {
	var raw struct {
		Value     []json.RawMessage `json:"value"`
		NextLink  string            `json:"@odata.nextLink"`
		DeltaLink string            `json:"@odata.deltaLink"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("%w: invalid JSON at byte %d of %d: %v", m365link.ErrMalformedResponse, syn.Offset, len(data), syn)
		}
		return nil, fmt.Errorf("%w: not a collection page: %v", m365link.ErrMalformedResponse, err)
	}
	page := &Page[T]{NextLink: raw.NextLink, DeltaLink: raw.DeltaLink, Value: make([]T, 0, len(raw.Value))}
	for i, r := range raw.Value {
		var v T
		if err := decodeItem[T, P](r, i, &v); err != nil {
			page.ItemErrors = append(page.ItemErrors, err)
			continue
		}
		page.Value = append(page.Value, v)
	}
	return page, nil
}

// decodeItem decodes the item at index i of a page into v: strictly with
// encoding/json, and when that fails leniently. It reports an item it
// cannot understand (not an object, no ID).
func decodeItem[T any, P Item[T]](r []byte, i int, v *T) *m365link.ItemError {
	if P(v).decodeStrict(r) != nil {
		var m map[string]any
		if json.Unmarshal(r, &m) != nil || m == nil {
			return &m365link.ItemError{Index: i, Err: errors.New("item is not a JSON object")}
		}
		*v = *new(T)
		if err := P(v).fillLenient(m); err != nil {
			id, _ := m["id"].(string)
			return &m365link.ItemError{ID: id, Index: i, Err: err}
		}
	}
	if P(v).itemID() == "" {
		return &m365link.ItemError{Index: i, Err: errNoID}
	}
	return nil
}

// The lenient readers take whatever JSON type Graph sent and make the best
// of it; they never fail, a value that makes no sense reads as zero.

func lstr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func lbool(v any) Bool {
	switch x := v.(type) {
	case bool:
		return Bool(x)
	case float64:
		return x != 0
	case string:
		s := strings.ToLower(strings.TrimSpace(x))
		return s == "true" || s == "1" || s == "yes"
	}
	return false
}

func ltime(v any) Time {
	s, _ := v.(string)
	return Time{parseGraphTime(s)}
}

func lstrs(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s := lstr(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	case string:
		if x != "" {
			return []string{x}
		}
	}
	return nil
}

// laddr reads an emailAddress object, a recipient wrapping one, or a bare
// address string.
func laddr(v any) Address {
	switch x := v.(type) {
	case string:
		return Address{Address: x}
	case map[string]any:
		if inner, ok := x["emailAddress"]; ok {
			return laddr(inner)
		}
		return Address{Name: lstr(x["name"]), Address: lstr(x["address"])}
	}
	return Address{}
}

func lrecipients(v any) []Recipient {
	switch x := v.(type) {
	case []any:
		out := make([]Recipient, 0, len(x))
		for _, e := range x {
			if a := laddr(e); a.Address != "" || a.Name != "" {
				out = append(out, Recipient{a})
			}
		}
		return out
	case map[string]any, string:
		if a := laddr(x); a.Address != "" || a.Name != "" {
			return []Recipient{{a}}
		}
	}
	return nil
}

func lremoved(m map[string]any) *Removed {
	v, ok := m["@removed"]
	if !ok || v == nil {
		return nil
	}
	r := &Removed{Reason: "deleted"}
	if o, ok := v.(map[string]any); ok {
		if s := lstr(o["reason"]); s != "" {
			r.Reason = s
		}
	}
	return r
}

func lobj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func lid(m map[string]any) (string, error) {
	id := lstr(m["id"])
	if id == "" {
		return "", errNoID
	}
	return id, nil
}

func (out *Message) fillLenient(o map[string]any) error {
	var m messageJSON
	id, err := lid(o)
	if err != nil {
		return err
	}
	m = messageJSON{
		ID:                   id,
		Removed:              lremoved(o),
		ChangeKey:            lstr(o["changeKey"]),
		ParentFolderID:       lstr(o["parentFolderId"]),
		InternetMessageID:    lstr(o["internetMessageId"]),
		ConversationID:       lstr(o["conversationId"]),
		Subject:              lstr(o["subject"]),
		BodyPreview:          lstr(o["bodyPreview"]),
		From:                 Recipient{laddr(o["from"])},
		Sender:               Recipient{laddr(o["sender"])},
		ToRecipients:         lrecipients(o["toRecipients"]),
		CcRecipients:         lrecipients(o["ccRecipients"]),
		BccRecipients:        lrecipients(o["bccRecipients"]),
		ReplyTo:              lrecipients(o["replyTo"]),
		ReceivedDateTime:     ltime(o["receivedDateTime"]),
		SentDateTime:         ltime(o["sentDateTime"]),
		LastModifiedDateTime: ltime(o["lastModifiedDateTime"]),
		IsRead:               lbool(o["isRead"]),
		IsDraft:              lbool(o["isDraft"]),
		HasAttachments:       lbool(o["hasAttachments"]),
		Importance:           lstr(o["importance"]),
		Categories:           lstrs(o["categories"]),
		WebLink:              lstr(o["webLink"]),
	}
	if b := lobj(o["body"]); b != nil {
		m.Body = &ItemBody{ContentType: lstr(b["contentType"]), Content: lstr(b["content"])}
	}
	*out = m.vocab()
	return nil
}

func ldtz(v any) DateTimeTimeZone {
	switch x := v.(type) {
	case map[string]any:
		return DateTimeTimeZone{DateTime: lstr(x["dateTime"]), TimeZone: lstr(x["timeZone"])}
	case string:
		return DateTimeTimeZone{DateTime: x}
	}
	return DateTimeTimeZone{}
}

func (out *Event) fillLenient(o map[string]any) error {
	var e eventJSON
	id, err := lid(o)
	if err != nil {
		return err
	}
	e = eventJSON{
		ID:                    id,
		Removed:               lremoved(o),
		ChangeKey:             lstr(o["changeKey"]),
		ICalUID:               lstr(o["iCalUId"]),
		SeriesMasterID:        lstr(o["seriesMasterId"]),
		Type:                  lstr(o["type"]),
		Subject:               lstr(o["subject"]),
		BodyPreview:           lstr(o["bodyPreview"]),
		Organizer:             Recipient{laddr(o["organizer"])},
		Start:                 ldtz(o["start"]),
		End:                   ldtz(o["end"]),
		IsAllDay:              lbool(o["isAllDay"]),
		IsCancelled:           lbool(o["isCancelled"]),
		IsOnlineMeeting:       lbool(o["isOnlineMeeting"]),
		OnlineMeetingURL:      lstr(o["onlineMeetingUrl"]),
		ShowAs:                lstr(o["showAs"]),
		LastModifiedDateTime:  ltime(o["lastModifiedDateTime"]),
		WebLink:               lstr(o["webLink"]),
		OriginalStart:         ltime(o["originalStart"]),
		OriginalStartTimeZone: lstr(o["originalStartTimeZone"]),
		OnlineMeetingProvider: lstr(o["onlineMeetingProvider"]),
		Categories:            lstrs(o["categories"]),
		Sensitivity:           lstr(o["sensitivity"]),
	}
	if om := lobj(o["onlineMeeting"]); om != nil {
		e.OnlineMeeting = &struct {
			JoinURL string `json:"joinUrl"`
		}{JoinURL: lstr(om["joinUrl"])}
	}
	switch loc := o["location"].(type) {
	case map[string]any:
		e.Location.DisplayName = lstr(loc["displayName"])
	case string:
		e.Location.DisplayName = loc
	}
	if as, ok := o["attendees"].([]any); ok {
		for _, a := range as {
			ao := lobj(a)
			if ao == nil {
				continue
			}
			at := Attendee{Type: lstr(ao["type"]), EmailAddress: laddr(ao["emailAddress"])}
			if st := lobj(ao["status"]); st != nil {
				at.Status.Response = lstr(st["response"])
			}
			e.Attendees = append(e.Attendees, at)
		}
	}
	*out = e.vocab()
	return nil
}

func (out *Contact) fillLenient(o map[string]any) error {
	var c contactJSON
	id, err := lid(o)
	if err != nil {
		return err
	}
	c = contactJSON{
		ID:                   id,
		Removed:              lremoved(o),
		ChangeKey:            lstr(o["changeKey"]),
		DisplayName:          lstr(o["displayName"]),
		GivenName:            lstr(o["givenName"]),
		Surname:              lstr(o["surname"]),
		CompanyName:          lstr(o["companyName"]),
		BusinessPhones:       lstrs(o["businessPhones"]),
		HomePhones:           lstrs(o["homePhones"]),
		MobilePhone:          lstr(o["mobilePhone"]),
		JobTitle:             lstr(o["jobTitle"]),
		Department:           lstr(o["department"]),
		ParentFolderID:       lstr(o["parentFolderId"]),
		LastModifiedDateTime: ltime(o["lastModifiedDateTime"]),
	}
	for _, r := range lrecipients(o["emailAddresses"]) {
		c.EmailAddresses = append(c.EmailAddresses, r.EmailAddress)
	}
	*out = c.vocab()
	return nil
}

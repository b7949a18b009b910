package report

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Item kinds.
const (
	KindMail    = "mail"
	KindMeeting = "meeting"
)

// Vendor is a vendor record as the host knows it.
type Vendor struct{ ID, Name string }

// Item is one message or meeting filed under one or more vendors.
type Item struct {
	Kind      string // KindMail or KindMeeting
	Mailbox   string // the internal mailbox it was synced from
	Subject   string
	At        time.Time // received (mail) or start (meeting)
	VendorIDs []string
	Contacts  []string // vendor-side addresses
}

// MailboxStatus is one mailbox's sync state, as the sync engine reports it.
type MailboxStatus struct {
	Mailbox, State, Reason string
	LastSync               time.Time // zero: never synced
	Items                  int
}

// Data is everything a report shows. Times are printed in their own location.
type Data struct {
	Title     string
	Generated time.Time // zero: not shown
	Vendors   []Vendor
	Items     []Item
	Mailboxes []MailboxStatus
}

// ContactCount is how many items a vendor-side address took part in.
type ContactCount struct {
	Address string
	Items   int
}

// Activity is one vendor's summary.
type Activity struct {
	Vendor
	Messages, Meetings int
	Last               time.Time      // the latest item; zero when there is none
	Contacts           []ContactCount // most items first, then by address
}

// Total is messages plus meetings.
func (a Activity) Total() int { return a.Messages + a.Meetings }

// Summarize returns every vendor's activity, the most active first (then the
// most recent contact, then the name). An item filed under several vendors
// counts for each; its contacts count for the vendors they are seen with on
// items of one vendor only, or for all of them when they are seen with none.
// A vendor ID an item names but Vendors lacks is reported under the ID.
func Summarize(d *Data) []Activity {
	idx := map[string]int{}
	var acts []Activity
	contacts := []map[string]int{}
	add := func(v Vendor) int {
		if i, ok := idx[v.ID]; ok {
			return i
		}
		if v.Name == "" {
			v.Name = v.ID
		}
		idx[v.ID] = len(acts)
		acts = append(acts, Activity{Vendor: v})
		contacts = append(contacts, map[string]int{})
		return len(acts) - 1
	}
	for _, v := range d.Vendors {
		add(v)
	}
	// seen: address -> the vendors it wrote to or for alone.
	seen := map[string]map[string]bool{}
	for _, it := range d.Items {
		if ids := uniq(it.VendorIDs); len(ids) == 1 {
			for _, c := range it.Contacts {
				c = strings.ToLower(c)
				if seen[c] == nil {
					seen[c] = map[string]bool{}
				}
				seen[c][ids[0]] = true
			}
		}
	}
	for _, it := range d.Items {
		ids := uniq(it.VendorIDs)
		for _, id := range ids {
			a := &acts[add(Vendor{ID: id})]
			if it.Kind == KindMeeting {
				a.Meetings++
			} else {
				a.Messages++
			}
			if it.At.After(a.Last) {
				a.Last = it.At
			}
			for _, c := range uniq(lower(it.Contacts)) {
				if len(ids) == 1 || seen[c] == nil || seen[c][id] {
					contacts[idx[id]][c]++
				}
			}
		}
	}
	for i := range acts {
		for addr, n := range contacts[i] {
			acts[i].Contacts = append(acts[i].Contacts, ContactCount{addr, n})
		}
		slices.SortFunc(acts[i].Contacts, func(a, b ContactCount) int {
			return cmp.Or(cmp.Compare(b.Items, a.Items), cmp.Compare(a.Address, b.Address))
		})
	}
	slices.SortStableFunc(acts, func(a, b Activity) int {
		return cmp.Or(cmp.Compare(b.Total(), a.Total()), b.Last.Compare(a.Last), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return acts
}

func lower(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strings.ToLower(x)
	}
	return out
}

func uniq(s []string) []string {
	if len(s) < 2 {
		return s
	}
	out := make([]string, 0, len(s))
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// topContacts is how many addresses the text table names before "+N".
const topContacts = 2

// Table writes the vendors with any activity as a compact text table:
// vendor, messages, meetings, last contact (a date), top contacts, the most
// active first; then one line counting the vendors without activity, if any.
func Table(w io.Writer, d *Data) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "vendor\tmessages\tmeetings\tlast contact\ttop contacts")
	idle := 0
	for _, a := range Summarize(d) {
		if a.Total() == 0 {
			idle++
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", oneLine(a.Name), a.Messages, a.Meetings, a.Last.Format(time.DateOnly), contactList(a.Contacts, topContacts))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if idle > 0 {
		_, err := fmt.Fprintf(w, "(%d %s without activity)\n", idle, plural(idle, "vendor", "vendors"))
		return err
	}
	return nil
}

func contactList(cs []ContactCount, n int) string {
	if len(cs) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, c := range cs[:min(n, len(cs))] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Address)
	}
	if len(cs) > n {
		fmt.Fprintf(&b, " +%d", len(cs)-n)
	}
	return b.String()
}

// ErrUnknownVendor is returned by [Timeline] for a vendor ID that neither
// Vendors nor any item names.
var ErrUnknownVendor = errors.New("report: unknown vendor")

// VendorItems returns the items filed under vendorID, the latest first (ties
// by subject, then mailbox), and the vendor; n > 0 keeps the latest n.
func VendorItems(d *Data, vendorID string, n int) (Vendor, []Item, error) {
	v := Vendor{ID: vendorID}
	known := false
	for _, vv := range d.Vendors {
		if vv.ID == vendorID {
			v, known = vv, true
			break
		}
	}
	var items []Item
	for _, it := range d.Items {
		if slices.Contains(it.VendorIDs, vendorID) {
			items = append(items, it)
		}
	}
	if !known && len(items) == 0 {
		return v, nil, fmt.Errorf("%w %q", ErrUnknownVendor, vendorID)
	}
	if v.Name == "" {
		v.Name = v.ID
	}
	sortItems(items)
	if n > 0 && len(items) > n {
		items = items[:n]
	}
	return v, items, nil
}

func sortItems(items []Item) {
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Mailbox, b.Mailbox))
	})
}

// Timeline writes one vendor's latest n items (all for n <= 0) as text: a
// heading, then per item the time, kind, internal mailbox, subject and the
// vendor-side addresses.
func Timeline(w io.Writer, d *Data, vendorID string, n int) error {
	v, items, err := VendorItems(d, vendorID, 0)
	if err != nil {
		return err
	}
	total := len(items)
	if n > 0 && len(items) > n {
		items = items[:n]
	}
	head := fmt.Sprintf("%s: %d %s", oneLine(v.Name), total, plural(total, "item", "items"))
	if len(items) < total {
		head += fmt.Sprintf(", the latest %d", len(items))
	}
	if _, err := fmt.Fprintln(w, head); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, it := range items {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", it.At.Format("2006-01-02 15:04"), kind(it.Kind), it.Mailbox, oneLine(it.Subject), strings.Join(it.Contacts, ", "))
	}
	return tw.Flush()
}

func kind(k string) string {
	if k == KindMeeting {
		return KindMeeting
	}
	return KindMail
}

// oneLine keeps a subject or name from breaking the table's rows.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "(none)"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package report_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/report"
)

func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

func sample() *report.Data {
	return &report.Data{
		Title:     "Contoso <procurement>",
		Generated: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC),
		Vendors:   []report.Vendor{{ID: "acme", Name: "Acme Corporation"}, {ID: "globex", Name: "Globex"}, {ID: "idle", Name: "Initech"}},
		Items: []report.Item{
			{Kind: "mail", Mailbox: "alice@contoso.com", Subject: "Quotation Q-118", At: at(3, 9), VendorIDs: []string{"acme"}, Contacts: []string{"ann@acme.com"}},
			{Kind: "mail", Mailbox: "bob@contoso.com", Subject: "Re: Quotation Q-118", At: at(4, 10), VendorIDs: []string{"acme"}, Contacts: []string{"ann@acme.com", "Ben@Acme.co.uk"}},
			{Kind: "meeting", Mailbox: "alice@contoso.com", Subject: "Quarterly review", At: at(12, 14), VendorIDs: []string{"acme", "globex"}, Contacts: []string{"ann@acme.com", "oscar@globex.com"}},
			{Kind: "mail", Mailbox: "carol@contoso.com", Subject: "Invoice <7781> & terms", At: at(15, 8), VendorIDs: []string{"globex"}, Contacts: []string{"oscar@globex.com"}},
			{Kind: "mail", Mailbox: "alice@contoso.com", Subject: "Samples", At: at(2, 16), VendorIDs: []string{"acme"}, Contacts: []string{"cara.acme@gmail.com"}},
			{Kind: "mail", Mailbox: "bob@contoso.com", Subject: "Price list", At: at(1, 7), VendorIDs: []string{"hooli"}, Contacts: []string{"gavin@hooli.com"}},
		},
		Mailboxes: []report.MailboxStatus{
			{Mailbox: "alice@contoso.com", State: "idle", LastSync: time.Date(2026, 11, 21, 7, 59, 0, 0, time.UTC), Items: 412},
			{Mailbox: "dan@contoso.com", State: "not mail-enabled", Reason: "the user has no Exchange Online licence"},
			{Mailbox: "erin@contoso.com", State: "reconnect required", Reason: "admin consent was revoked: ask an admin to consent again"},
		},
	}
}

func TestTable(t *testing.T) {
	var b strings.Builder
	require.NoError(t, report.Table(&b, sample()))
	assert.Equal(t, `vendor            messages  meetings  last contact  top contacts
Acme Corporation  3         1         2026-11-12    ann@acme.com, ben@acme.co.uk +1
Globex            1         1         2026-11-15    oscar@globex.com
hooli             1         0         2026-11-01    gavin@hooli.com
(1 vendor without activity)
`, b.String())
}

func TestTableEmpty(t *testing.T) {
	var b strings.Builder
	require.NoError(t, report.Table(&b, &report.Data{}))
	assert.Equal(t, "vendor  messages  meetings  last contact  top contacts\n", b.String())
}

func TestTimeline(t *testing.T) {
	var b strings.Builder
	require.NoError(t, report.Timeline(&b, sample(), "acme", 3))
	assert.Equal(t, `Acme Corporation: 4 items, the latest 3
  2026-11-12 14:00  meeting  alice@contoso.com  Quarterly review     ann@acme.com, oscar@globex.com
  2026-11-04 10:00  mail     bob@contoso.com    Re: Quotation Q-118  ann@acme.com, Ben@Acme.co.uk
  2026-11-03 09:00  mail     alice@contoso.com  Quotation Q-118      ann@acme.com
`, b.String())

	b.Reset()
	require.NoError(t, report.Timeline(&b, sample(), "idle", 0))
	assert.Equal(t, "Initech: 0 items\n", b.String())

	err := report.Timeline(&b, sample(), "nobody", 5)
	assert.True(t, errors.Is(err, report.ErrUnknownVendor), "%v", err)
	assert.EqualError(t, err, `report: unknown vendor "nobody"`)
}

func TestSummarize(t *testing.T) {
	acts := report.Summarize(sample())
	require.Len(t, acts, 4)
	assert.Equal(t, report.Activity{
		Vendor: report.Vendor{ID: "globex", Name: "Globex"}, Messages: 1, Meetings: 1, Last: at(15, 8),
		Contacts: []report.ContactCount{{Address: "oscar@globex.com", Items: 2}},
	}, acts[1])
}

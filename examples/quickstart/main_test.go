package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testOptions are the defaults of the command line, on a database in dir,
// on a fixed day and without timings, so that the output is the same on
// every machine.
func testOptions(t *testing.T, dir string, args ...string) options {
	o, err := parseFlags(append([]string{"-db", filepath.Join(dir, "quickstart.db")}, args...), os.Stderr)
	require.NoError(t, err)
	o.now = func() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) }
	return o
}

func runQuickstart(t *testing.T, o options) string {
	var out strings.Builder
	require.NoError(t, run(context.Background(), &out, o))
	return strings.ReplaceAll(out.String(), o.db, "DB")
}

// The README's first command must keep working and keep telling the same
// story; the second run on the same database is incremental.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	first := runQuickstart(t, testOptions(t, dir, "-html", report))
	assert.Equal(t, firstRun, strings.ReplaceAll(first, report, "REPORT"))

	page, err := os.ReadFile(report)
	require.NoError(t, err)
	assert.Contains(t, string(page), `<table id="vendor-table">`)
	assert.Contains(t, string(page), `<td>alice@contoso.com</td><td class="ok">idle</td>`)

	second := runQuickstart(t, testOptions(t, dir))
	assert.Equal(t, secondRun, second)
}

func TestFlags(t *testing.T) {
	var stderr strings.Builder
	_, err := parseFlags([]string{"--help"}, &stderr)
	assert.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, stderr.String(), "Usage: go run ./examples/quickstart [flags]")
	for _, f := range []string{"-db file", "-mailboxes mailboxes", "-messages messages", "-html file", "-fresh"} {
		assert.Contains(t, stderr.String(), f)
	}

	stderr.Reset()
	_, err = parseFlags([]string{"-mailboxes", "1"}, &stderr)
	assert.Error(t, err)
	assert.Contains(t, stderr.String(), "-mailboxes must be at least 2")

	o, err := parseFlags([]string{"-db", "x.db", "-mailboxes", "3", "-messages", "50"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, options{db: "x.db", mailboxes: 3, messages: 50}, o)
}

// A write that fails is reported, not ignored.
func TestWriteErrors(t *testing.T) {
	w := &errWriter{w: failingWriter{}}
	dir := t.TempDir()
	o := testOptions(t, dir, "-mailboxes", "2", "-messages", "40")
	err := run(context.Background(), w, o)
	require.Error(t, err, "the table's write fails, and run stops there")
	assert.Contains(t, err.Error(), "disk full")
	assert.EqualError(t, w.err, "disk full")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

const firstRun = `m365link quickstart: a fake Microsoft 365 tenant, nothing leaves this machine. State: DB
Tenant contoso.com: 6 mailboxes, 32 vendors with 51 domains, 826 messages and 66 meetings per mailbox, newsletters and mail between colleagues.

1. Admin consent: it-admin@contoso.com (Global Administrator: true) consented for tenant 924b8867-3844-4aaa-af8e-fcde296e1e9d; app-only token: true.
   Application permissions to grant in Entra ID: Mail.Read, User.Read.All, Group.Read.All, Mail.Send, Calendars.ReadWrite, MailboxSettings.Read
2. Service connection: acquire an app-only token ok; list users ok; find alice@contoso.com ok; read alice@contoso.com's Inbox ok; read alice@contoso.com's calendars ok.
3. Mailbox policy: members of "M365Link Sync Allowed" (Procurement nested): 4 of 6 mailboxes: alice@contoso.com, bob@contoso.com, carol@contoso.com, frank@contoso.com.
   [##############################] 100%  3547 items, 4 mailboxes
4. Initial sync: 4 mailboxes, 3547 items (mail and meetings) in 18 requests to Graph.
5. Matching: 2381 of 3304 messages and 243 of 243 meetings are with vendors; the rest are between colleagues, newsletters and notifications.

6. Vendor activity (the ten most active):
vendor                messages  meetings  last contact  top contacts
Duff Beverages        114       18        2026-11-29    rita.obrien@duff.com.mx, peggy.cohen@duff.com +3
Pied Piper            101       5         2026-11-21    yara.obrien@piedpiper.com, wendy.cohen@piedpiper.com +4
Sterling Cooper       94        9         2026-11-20    ivan.obrien@sterlingcooper.com, heidi.mueller@sterlingcooper.com +6
Wayne Logistics       91        9         2026-11-23    sam.garcia@wayne.co.jp, mallory.martin@waynelogistics.com +4
Aperture Labs         92        6         2026-11-28    sam.mueller@aperturelabs.com, xavier.martin@aperturelabs.com +6
Roxxon Energy         84        12        2026-11-21    zoe.schmidt@roxxon.com, sales@roxxon.com +3
Vandelay Industries   92        3         2026-11-19    alice.obrien@vandelay.com, oscar.obrien@vandelay.co.nz +2
Kruger Metals         87        4         2026-11-19    uma.brown@kruger-metals.de, alice.mueller@kruger-metals.de +5
Bluth Property        80        10        2026-12-01    heidi.garcia@bluth.com, dan.cohen@bluth.com +5
Cyberdyne Components  79        10        2026-12-01    sales@cyberdyne.com, tina.patel@cyberdyne.co.uk +7

Duff Beverages: 132 items, the latest 5
  2026-11-29 05:00  meeting  carol@contoso.com  Quarterly business review: Duff Beverages  dan.cohen@duff.com, sales@duff.com
  2026-11-22 20:00  meeting  bob@contoso.com    Contract negotiation with Duff Beverages   rita.obrien@duff.com.mx
  2026-11-19 23:59  mail     frank@contoso.com  RE: Contract renewal 2027                  rita.obrien@duff.com.mx
  2026-11-19 23:59  mail     frank@contoso.com  RE: Contract renewal 2027                  rita.obrien@duff.com.mx
  2026-11-19 14:52  mail     carol@contoso.com  RE: Delivery schedule for week 39          peggy.cohen@duff.com

7. Change notification for alice@contoso.com (8 subscriptions, mail and events): the delta pass brought 1 item: "Revised quotation Q-2026001 from Acme Corporation" from ken.brown@acme.com -> Acme Corporation.
8. Replied from alice@contoso.com: "RE: Revised quotation Q-2026001 from Acme Corporation" to ken.brown@acme.com, in the same conversation: true.
9. Booked "Quotation review with Acme Corporation", Tue 24 Nov 08:00–08:30 (UTC, the first half hour alice@contoso.com and bob@contoso.com are both free), Teams: true.
   Acme Corporation now: 76 messages, 3 meetings.

Report written to REPORT (open it in a browser).

Done: run 1. Run it again for an incremental sync, or -fresh to start over.
`

const secondRun = `m365link quickstart, run 2 on DB: the sync picks up where run 1 left off.
Tenant contoso.com: 6 mailboxes, 32 vendors with 51 domains, 826 messages and 66 meetings per mailbox, newsletters and mail between colleagues.

1. Admin consent: it-admin@contoso.com (Global Administrator: true) consented for tenant 924b8867-3844-4aaa-af8e-fcde296e1e9d; app-only token: true.
   Application permissions to grant in Entra ID: Mail.Read, User.Read.All, Group.Read.All, Mail.Send, Calendars.ReadWrite, MailboxSettings.Read
2. Service connection: acquire an app-only token ok; list users ok; find alice@contoso.com ok; read alice@contoso.com's Inbox ok; read alice@contoso.com's calendars ok.
3. Mailbox policy: members of "M365Link Sync Allowed" (Procurement nested): 4 of 6 mailboxes: alice@contoso.com, bob@contoso.com, carol@contoso.com, frank@contoso.com.
4. Incremental sync (state of run 1): 3 new or changed items, 0 removed, in 6 requests to Graph.
5. Matching: 2385 of 3309 messages and 244 of 244 meetings are with vendors; the rest are between colleagues, newsletters and notifications.

6. Vendor activity (the ten most active):
vendor                messages  meetings  last contact  top contacts
Duff Beverages        114       18        2026-11-29    rita.obrien@duff.com.mx, peggy.cohen@duff.com +3
Pied Piper            102       5         2026-11-23    yara.obrien@piedpiper.com, wendy.cohen@piedpiper.com +4
Sterling Cooper       94        9         2026-11-20    ivan.obrien@sterlingcooper.com, heidi.mueller@sterlingcooper.com +6
Wayne Logistics       91        9         2026-11-23    sam.garcia@wayne.co.jp, mallory.martin@waynelogistics.com +4
Aperture Labs         92        6         2026-11-28    sam.mueller@aperturelabs.com, xavier.martin@aperturelabs.com +6
Roxxon Energy         84        12        2026-11-21    zoe.schmidt@roxxon.com, sales@roxxon.com +3
Vandelay Industries   92        3         2026-11-19    alice.obrien@vandelay.com, oscar.obrien@vandelay.co.nz +2
Kruger Metals         87        4         2026-11-19    uma.brown@kruger-metals.de, alice.mueller@kruger-metals.de +5
Bluth Property        80        10        2026-12-01    heidi.garcia@bluth.com, dan.cohen@bluth.com +5
Cyberdyne Components  79        10        2026-12-01    sales@cyberdyne.com, tina.patel@cyberdyne.co.uk +7

Duff Beverages: 132 items, the latest 5
  2026-11-29 05:00  meeting  carol@contoso.com  Quarterly business review: Duff Beverages  dan.cohen@duff.com, sales@duff.com
  2026-11-22 20:00  meeting  bob@contoso.com    Contract negotiation with Duff Beverages   rita.obrien@duff.com.mx
  2026-11-19 23:59  mail     frank@contoso.com  RE: Contract renewal 2027                  rita.obrien@duff.com.mx
  2026-11-19 23:59  mail     frank@contoso.com  RE: Contract renewal 2027                  rita.obrien@duff.com.mx
  2026-11-19 14:52  mail     carol@contoso.com  RE: Delivery schedule for week 39          peggy.cohen@duff.com

7. Change notification for alice@contoso.com (8 subscriptions, mail and events): the delta pass brought 1 item: "Revised quotation Q-2026002 from Wayne Logistics" from mallory.martin@waynelogistics.com -> Wayne Logistics.
8. Replied from alice@contoso.com: "RE: Revised quotation Q-2026002 from Wayne Logistics" to mallory.martin@waynelogistics.com, in the same conversation: true.
9. Booked "Quotation review with Wayne Logistics", Tue 24 Nov 08:30–09:00 (UTC, the first half hour alice@contoso.com and bob@contoso.com are both free), Teams: true.
   Wayne Logistics now: 93 messages, 10 meetings.

Done: run 2. Run it again for an incremental sync, or -fresh to start over.
`

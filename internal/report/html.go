package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// TimelineLength is how many items the HTML page lists per vendor; the rest
// are counted.
const TimelineLength = 20

type pageVendor struct {
	Anchor string
	Activity
	Pct      int // the bar's width, against the most active vendor
	Contacts string
	Items    []Item
	Earlier  int
}

type page struct {
	*Data
	Active    []pageVendor
	Idle      int
	Vendors   int // every vendor, with those only items name
	ItemCount int
}

// HTML writes one self-contained page: inline CSS, no scripts, no links
// outside the page. It holds the vendor table (each vendor linking to its
// timeline), a timeline of mail and meetings per vendor with any activity
// (the latest [TimelineLength]) and the sync status of every mailbox.
// Everything from Data is escaped by html/template.
func HTML(w io.Writer, d *Data) error {
	p := page{Data: d, ItemCount: len(d.Items)}
	acts := Summarize(d)
	p.Vendors = len(acts)
	most := 1
	for _, a := range acts {
		most = max(most, a.Total())
	}
	for i, a := range acts {
		if a.Total() == 0 {
			p.Idle++
			continue
		}
		_, items, err := VendorItems(d, a.ID, 0)
		if err != nil {
			return err
		}
		pv := pageVendor{
			Anchor:   fmt.Sprintf("v%d", i+1),
			Activity: a,
			Pct:      max(1, a.Total()*100/most),
			Contacts: contactList(a.Contacts, 3),
			Items:    items[:min(len(items), TimelineLength)],
			Earlier:  max(0, len(items)-TimelineLength),
		}
		p.Active = append(p.Active, pv)
	}
	return pageTemplate.Execute(w, p)
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Format("2006-01-02 15:04")
	},
	"day":    func(t time.Time) string { return t.Format(time.DateOnly) },
	"kind":   kind,
	"join":   func(s []string) string { return strings.Join(s, ", ") },
	"status": statusClass,
	"title": func(s string) string {
		if s == "" {
			return "Vendor activity"
		}
		return s
	},
}).Parse(pageHTML))

// statusClass colours a mailbox's state: green when syncing normally, amber
// while it is held up, red when someone must act.
func statusClass(state string) string {
	switch state {
	case "idle", "initial sync", "incremental":
		return "ok"
	case "throttled", "degraded", "not mail-enabled", "removed":
		return "warn"
	default:
		return "bad"
	}
}

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title .Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:64em;padding:0 1em;color:#1b1f24;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}h3{font-size:1em;margin:1.5em 0 .4em}
.meta{color:#57606a;margin-top:0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.7em;background:#0969da;border-radius:2px;vertical-align:middle}
.meeting{color:#8250df;font-weight:600}.mail{color:#0969da}
.ok{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e;font-weight:600}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
.more{color:#57606a;font-style:italic}
</style>
</head>
<body>
<h1>{{title .Title}}</h1>
<p class="meta">{{if not .Generated.IsZero}}Generated {{date .Generated}} · {{end}}{{.Vendors}} vendors · {{.ItemCount}} items · {{len .Mailboxes}} mailboxes</p>

<h2 id="vendors">Vendors</h2>
{{if .Active}}<table id="vendor-table">
<thead><tr><th>Vendor</th><th>Messages</th><th>Meetings</th><th>Activity</th><th>Last contact</th><th>Top contacts</th></tr></thead>
<tbody>
{{range .Active}}<tr><td><a href="#{{.Anchor}}">{{.Name}}</a></td><td class="n">{{.Messages}}</td><td class="n">{{.Meetings}}</td><td><span class="bar" style="width:{{.Pct}}px"></span></td><td>{{day .Last}}</td><td>{{.Contacts}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No vendor activity yet.</p>
{{end}}{{if .Idle}}<p class="more">{{.Idle}} more without activity.</p>
{{end}}
<h2 id="timelines">Timelines</h2>
{{range .Active}}<h3 id="{{.Anchor}}">{{.Name}}</h3>
<table>
<tbody>
{{range .Items}}<tr><td>{{date .At}}</td><td class="{{kind .Kind}}">{{kind .Kind}}</td><td>{{.Mailbox}}</td><td>{{.Subject}}</td><td>{{join .Contacts}}</td></tr>
{{end}}</tbody>
</table>
{{if .Earlier}}<p class="more">and {{.Earlier}} earlier.</p>
{{end}}<p><a href="#vendors">Back to the vendors</a></p>
{{else}}<p>Nothing to show.</p>
{{end}}
<h2 id="mailboxes">Mailboxes</h2>
{{if .Mailboxes}}<table id="mailbox-table">
<thead><tr><th>Mailbox</th><th>State</th><th>Last sync</th><th>Items</th><th>Reason</th></tr></thead>
<tbody>
{{range .Mailboxes}}<tr><td>{{.Mailbox}}</td><td class="{{status .State}}">{{.State}}</td><td>{{date .LastSync}}</td><td class="n">{{.Items}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No mailboxes.</p>
{{end}}</body>
</html>
`

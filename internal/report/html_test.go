package report_test

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/report"
)

var update = flag.Bool("update", false, "rewrite testdata/sample.html from the current output")

// The page is compared whole against testdata/sample.html (go test -update
// rewrites it; read the diff before committing).
func TestHTML(t *testing.T) {
	var b strings.Builder
	require.NoError(t, report.HTML(&b, sample()))
	got := b.String()
	if *update {
		require.NoError(t, os.WriteFile("testdata/sample.html", []byte(got), 0o644))
	}
	want, err := os.ReadFile("testdata/sample.html")
	require.NoError(t, err)
	assert.Equal(t, string(want), got)

	// Self-contained: nothing to fetch, nothing to run, every link inside the page.
	for _, bad := range []string{"<script", "http:", "https:", "src=", "<link", "@import", "url("} {
		assert.NotContains(t, got, bad)
	}
	assert.Contains(t, got, `<h1>Contoso &lt;procurement&gt;</h1>`)
	assert.Contains(t, got, `<td>Invoice &lt;7781&gt; &amp; terms</td>`)
	assert.Contains(t, got, `<tr><td><a href="#v1">Acme Corporation</a></td><td class="n">3</td><td class="n">1</td><td><span class="bar" style="width:100px"></span></td><td>2026-11-12</td><td>ann@acme.com, ben@acme.co.uk, cara.acme@gmail.com</td></tr>`)
	assert.Contains(t, got, `<h3 id="v1">Acme Corporation</h3>`)
	assert.Contains(t, got, `<tr><td>erin@contoso.com</td><td class="bad">reconnect required</td><td>never</td><td class="n">0</td><td>admin consent was revoked: ask an admin to consent again</td></tr>`)
}

// A vendor name or subject cannot break out of its cell.
func TestHTMLEscapes(t *testing.T) {
	d := &report.Data{
		Title:   `"><script>alert(1)</script>`,
		Vendors: []report.Vendor{{ID: `x"><b>`, Name: `<img src=x onerror=alert(1)>`}},
		Items:   []report.Item{{Kind: "mail", Subject: `</td><script>`, VendorIDs: []string{`x"><b>`}, Contacts: []string{`a@b.c"<i>`}}},
	}
	var b strings.Builder
	require.NoError(t, report.HTML(&b, d))
	got := b.String()
	assert.NotContains(t, got, "<script")
	assert.NotContains(t, got, "<img")
	assert.NotContains(t, got, "<i>")
	assert.Contains(t, got, `<h1>&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</h1>`)
	assert.Contains(t, got, `<a href="#v1">&lt;img src=x onerror=alert(1)&gt;</a>`)
}

func TestHTMLLongTimeline(t *testing.T) {
	d := &report.Data{Vendors: []report.Vendor{{ID: "a", Name: "A"}}}
	for i := range report.TimelineLength + 5 {
		d.Items = append(d.Items, report.Item{Kind: "mail", Subject: "s", At: at(1, 0).Add(-time.Duration(i) * time.Hour), VendorIDs: []string{"a"}})
	}
	var b strings.Builder
	require.NoError(t, report.HTML(&b, d))
	assert.Equal(t, report.TimelineLength, strings.Count(b.String(), `<td class="mail">mail</td>`))
	assert.Contains(t, b.String(), `<p class="more">and 5 earlier.</p>`)
	assert.Contains(t, b.String(), `<title>Vendor activity</title>`)
}

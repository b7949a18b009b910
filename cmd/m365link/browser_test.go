package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/browsertest"
)

// The HTML report of sync-once, opened in a real headless Chromium: the
// vendor and mailbox tables render, every link goes to an anchor of the
// page, and the page logs nothing to the console.
func TestReportInBrowser(t *testing.T) {
	browser := browsertest.Chromium(t)
	page := filepath.Join(t.TempDir(), "report.html")
	r := runCmd(t, nil, "--fake", "sync-once", "--quiet", "--html", page)
	require.Equal(t, 0, r.code, r.stderr)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /report.html", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, page) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	p := browsertest.Load(t, browser, srv.URL+"/report.html")
	p.NoConsole(t)
	p.CheckLinks(t, srv.Client())

	vendorTable := section(t, p.DOM, `<table id="vendor-table">`, `</table>`)
	assert.Equal(t, 16, strings.Count(vendorTable, "<tr><td><a href=\"#v"), "a row per active vendor")
	assert.Regexp(t, `<tr><td><a href="#v1">Globex</a></td><td class="n">94</td><td class="n">15</td>`, vendorTable)
	mailboxTable := section(t, p.DOM, `<table id="mailbox-table">`, `</table>`)
	assert.Equal(t, 6, strings.Count(mailboxTable, "<tr><td>"), "a row per mailbox")
	assert.Regexp(t, `<tr><td>frank@contoso\.com</td><td[^>]*>not mail-enabled</td>`, mailboxTable)
	// Every vendor in the table has its timeline on the page.
	for _, m := range regexp.MustCompile(`href="#(v\d+)"`).FindAllStringSubmatch(vendorTable, -1) {
		assert.Contains(t, p.DOM, `id="`+m[1]+`"`)
	}
}

// section returns the part of s from start to the first end after it.
func section(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	require.GreaterOrEqual(t, i, 0, "no %s in the page", start)
	j := strings.Index(s[i:], end)
	require.GreaterOrEqual(t, j, 0)
	return s[i : i+j]
}

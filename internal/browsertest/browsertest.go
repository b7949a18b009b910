// Package browsertest checks pages people look at in a real headless
// Chromium, without a Go dependency on a browser driver: it runs
// "chromium --headless --dump-dom" on a URL, reads the DOM the browser built
// (after its scripts ran) and the console messages it logged, and checks that
// every link of the page resolves.
//
// Tests call Chromium first: it skips the test, saying why, when no Chromium
// is installed (CI installs Debian's chromium package; see .ci/run).
package browsertest

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Env names an explicit browser binary, overriding the search of PATH.
const Env = "M365LINK_CHROMIUM"

// Chromium returns the path of a Chromium (or Chrome) binary, or skips the
// test with the reason when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(Env); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skipf("no headless browser: none of chromium, chromium-browser, google-chrome is on PATH (apt-get install chromium, or set %s)", Env)
	return ""
}

// Page is what the browser made of a URL.
type Page struct {
	URL *url.URL
	// DOM is the document as the browser serialised it after loading.
	DOM string
	// Console are the messages the page logged (console.*, uncaught
	// exceptions, resources that failed to load).
	Console []string
}

var consoleLine = regexp.MustCompile(`:CONSOLE(?::|\()\d+\)?\] (.*)$`)

// Load opens rawURL in a fresh headless Chromium profile and returns the
// page. It fails the test if the browser cannot run or times out.
func Load(t testing.TB, browser, rawURL string) *Page {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--user-data-dir="+profile,
		"--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", rawURL)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("browsertest: %s --dump-dom %s: %v\n%s", browser, rawURL, err, tail(stderr.String(), 2000))
	}
	p := &Page{URL: u, DOM: stdout.String()}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			p.Console = append(p.Console, m[1])
		}
	}
	if strings.TrimSpace(p.DOM) == "" {
		t.Fatalf("browsertest: %s rendered no DOM\n%s", rawURL, tail(stderr.String(), 2000))
	}
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

var (
	hrefAttr = regexp.MustCompile(`\shref="([^"]*)"`)
	idAttr   = regexp.MustCompile(`\sid="([^"]*)"`)
)

// Links returns every href of the page, unescaped, in order.
func (p *Page) Links() []string {
	var out []string
	for _, m := range hrefAttr.FindAllStringSubmatch(p.DOM, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// NoConsole fails the test for every console message the page logged: the
// pages checked have no business logging anything.
func (p *Page) NoConsole(t testing.TB) {
	t.Helper()
	for _, m := range p.Console {
		t.Errorf("%s: console: %s", p.URL, m)
	}
}

// CheckLinks fails the test for every link of the page that does not work:
// a fragment must name an id of the page, and any other link must stay on the
// page's origin and be answered below 400 (redirects are not followed: a
// redirect to Microsoft's sign-in is a working link). A link elsewhere is an
// error too: the pages must work offline.
func (p *Page) CheckLinks(t testing.TB, client *http.Client) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range idAttr.FindAllStringSubmatch(p.DOM, -1) {
		ids[html.UnescapeString(m[1])] = true
	}
	nc := *client
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	checked := map[string]bool{}
	for _, href := range p.Links() {
		if strings.HasPrefix(href, "#") {
			if !ids[href[1:]] {
				t.Errorf("%s: link %q: no element with id %q", p.URL, href, href[1:])
			}
			continue
		}
		u, err := p.URL.Parse(href)
		if err != nil {
			t.Errorf("%s: link %q: %v", p.URL, href, err)
			continue
		}
		if u.Scheme != p.URL.Scheme || u.Host != p.URL.Host {
			t.Errorf("%s: link %q leaves the site", p.URL, href)
			continue
		}
		if u.Fragment != "" && u.Path == p.URL.Path && u.RawQuery == p.URL.RawQuery {
			if !ids[u.Fragment] {
				t.Errorf("%s: link %q: no element with id %q", p.URL, href, u.Fragment)
			}
			continue
		}
		u.Fragment = ""
		if checked[u.String()] {
			continue
		}
		checked[u.String()] = true
		if err := get(&nc, u.String()); err != nil {
			t.Errorf("%s: link %q: %v", p.URL, href, err)
		}
	}
}

func get(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// Count returns how many times s occurs in the DOM.
func (p *Page) Count(s string) int { return strings.Count(p.DOM, s) }

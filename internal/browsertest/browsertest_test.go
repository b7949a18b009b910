package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps the errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The checks find what they are for: a script error, a console message, a
// dead link, a missing anchor and a link off the site.
func TestChecksCatchBrokenPages(t *testing.T) {
	browser := Chromium(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<!doctype html><html><head><title>bad</title></head><body>
<p id="top">hello</p>
<a href="#top">ok anchor</a> <a href="#nowhere">bad anchor</a>
<a href="/ok">ok</a> <a href="/redirect">redirect</a> <a href="/missing">missing</a> <a href="https://example.com/">away</a>
<script>console.log("logged"); nosuchfunction();</script>
<script>document.getElementById("top").setAttribute("data-ran", "yes")</script>
</body></html>`)
	})
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://login.example/", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	p := Load(t, browser, srv.URL+"/")
	if !strings.Contains(p.DOM, `data-ran="yes"`) {
		t.Errorf("the DOM is not the one scripts built:\n%s", p.DOM)
	}
	rec := &recorder{TB: t}
	p.NoConsole(rec)
	p.CheckLinks(rec, srv.Client())
	got := strings.Join(rec.errs, "\n")
	for _, want := range []string{`console: "logged"`, `console: "Uncaught ReferenceError: nosuchfunction is not defined"`,
		`link "#nowhere": no element with id "nowhere"`, `link "/missing": answered 404 Not Found`, `link "https://example.com/" leaves the site`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(rec.errs) != 5 {
		t.Errorf("want 5 errors, got %d:\n%s", len(rec.errs), got)
	}
}

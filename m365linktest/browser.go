package m365linktest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/m365link/m365link/consent"
)

// Browser plays one user's web browser: it signs in at the fake identity
// platform as that user (who needs no password) and keeps cookies. Use it
// against a consent.Connector's URLs ([Browser.Connect],
// [Browser.AdminConsent], [Browser.SignIn]) or against the host's own
// routes ([Browser.Visit]).
type Browser struct {
	// Header is sent with every request to the app (not to the identity
	// platform), e.g. the host's session cookie or header that its
	// consent.Hooks.Session reads.
	Header http.Header

	t    *Tenant
	user User
	jar  http.CookieJar
}

// Browser returns a browser in which the user (by ID or UPN) signs in.
func (t *Tenant) Browser(user string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{Header: http.Header{}, t: t, user: t.user(user), jar: jar}
}

// SignInError is a sign-in that stopped at the identity platform's own
// error page instead of going back to the app, as Entra ID's does for a
// blocked account or an unregistered redirect URI.
type SignInError struct {
	// Code is the AADSTS number, e.g. 50057.
	Code int
	// Description is what the page says after the code.
	Description string
}

// Error names the code and the description.
func (e *SignInError) Error() string {
	return "m365linktest: sign-in stopped at the identity platform: AADSTS" + strconv.Itoa(e.Code) + ": " + e.Description
}

var errorPage = regexp.MustCompile(`AADSTS(\d+): ([^<]*)`)

// SignIn opens an authorize or admin-consent URL (what
// consent.Connector.BeginConnect, BeginAdminConsent and
// CompleteAdminSignIn return) and returns the raw query of the identity
// platform's redirect back to the app: the callback to complete. An
// error the platform sends back to the app is in that query; a sign-in
// that stops at the platform's error page is a [*SignInError].
func (b *Browser) SignIn(rawURL string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return "", err
	}
	if !b.atIdentityPlatform(req.URL) {
		return "", fmt.Errorf("m365linktest: %s is not the fake identity platform's", req.URL.Redacted())
	}
	resp, err := b.identityPlatform(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusFound {
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return "", err
		}
		return loc.RawQuery, nil
	}
	if m := errorPage.FindSubmatch(body); m != nil {
		code, _ := strconv.Atoi(string(m[1]))
		return "", &SignInError{Code: code, Description: strings.TrimSpace(string(m[2]))}
	}
	return "", fmt.Errorf("m365linktest: the identity platform answered %d: %.200s", resp.StatusCode, body)
}

// session is the host session a browser's flows run under.
func (b *Browser) session() string { return "m365linktest browser of " + b.user.ID }

// Connect connects the browser's user through c (nil: [Tenant.Connector]):
// BeginConnect, the sign-in, CompleteConnect. The account's tokens are
// then in c's token manager.
func (b *Browser) Connect(ctx context.Context, c *consent.Connector, opts *consent.ConnectOptions) (*consent.Connection, error) {
	if c == nil {
		c = b.t.conn
	}
	u, err := c.BeginConnect(ctx, b.session(), opts)
	if err != nil {
		return nil, err
	}
	q, err := b.SignIn(u)
	if err != nil {
		return nil, err
	}
	return c.CompleteConnect(ctx, b.session(), q)
}

// AdminConsent runs the secure admin consent through c (nil:
// [Tenant.Connector]) as the browser's user: BeginAdminConsent, the
// administrator's sign-in, CompleteAdminSignIn (which checks their
// directory roles), the admin-consent page, CompleteAdminConsent. A user
// without an admin role gets consent.ErrNotAdmin.
func (b *Browser) AdminConsent(ctx context.Context, c *consent.Connector, opts *consent.AdminConsentOptions) (*consent.AdminConsent, error) {
	if c == nil {
		c = b.t.conn
	}
	u, err := c.BeginAdminConsent(ctx, b.session(), opts)
	if err != nil {
		return nil, err
	}
	q, err := b.SignIn(u)
	if err != nil {
		return nil, err
	}
	page, err := c.CompleteAdminSignIn(ctx, b.session(), q)
	if err != nil {
		return nil, err
	}
	if q, err = b.SignIn(page); err != nil {
		return nil, err
	}
	return c.CompleteAdminConsent(ctx, b.session(), q)
}

// Page is where a [Browser.Visit] ended.
type Page struct {
	// URL is the last URL visited.
	URL *url.URL
	// Status and Header are its answer's; Body is its body (up to 1 MiB).
	Status int
	Header http.Header
	Body   string
}

// Visit opens rawURL (relative to [AppOrigin], or absolute) and follows
// redirects, as a browser does, until a page that is not one: requests
// for the identity platform go to the fake, where the browser's user signs
// in, and every other request is served by app, the host's handler (such
// as a mux with consent.Connector.Handler mounted at "/m365"), in
// process. Cookies the app sets come back to it.
func (b *Browser) Visit(app http.Handler, rawURL string) (*Page, error) {
	base, _ := url.Parse(AppOrigin + "/")
	u, err := base.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Jar: b.jar, Transport: browserTransport{b: b, app: app}, Timeout: 30 * time.Second}
	resp, err := hc.Get(u.String())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &Page{URL: resp.Request.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, nil
}

func (b *Browser) atIdentityPlatform(u *url.URL) bool {
	idp, _ := url.Parse(b.t.idp.URL())
	return u.Scheme == idp.Scheme && u.Host == idp.Host
}

// identityPlatform sends one request to the fake identity platform with
// the browser's user signed in. The platform has one signed-in user at a
// time, so browsers take turns.
func (b *Browser) identityPlatform(req *http.Request) (*http.Response, error) {
	b.t.signIn.Lock()
	defer b.t.signIn.Unlock()
	b.t.idp.SignInAs(b.user.TenantID, b.user.ID)
	return b.t.http.Transport.RoundTrip(req)
}

// errNoApp is what a Browser answers for the app's origin without a handler.
var errNoApp = errors.New("m365linktest: the browser has no app handler for this origin")

type browserTransport struct {
	b   *Browser
	app http.Handler
}

func (bt browserTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if bt.b.atIdentityPlatform(r.URL) {
		return bt.b.identityPlatform(r)
	}
	if bt.app == nil {
		return nil, errNoApp
	}
	// Served in process, as a server would hand the request over.
	req := r.Clone(r.Context())
	req.Host, req.RequestURI, req.RemoteAddr = r.URL.Host, r.URL.RequestURI(), "192.0.2.1:1234"
	if r.URL.Scheme == "https" {
		req.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, ServerName: r.URL.Hostname()}
	}
	if req.Body == nil {
		req.Body = http.NoBody
	}
	for k, vs := range bt.b.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	bt.app.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

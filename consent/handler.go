package consent

import (
	"errors"
	"net/http"
	"strings"

	"github.com/m365link/m365link"
)

// Hooks connect the [Connector.Handler] routes to the host.
type Hooks struct {
	// Session names the host's signed-in user or session for a request
	// (required). A callback only completes for the session that began it.
	// It returns "" and no error when nobody is signed in (the handler
	// answers 401); an error is the host's own failure (500).
	Session func(r *http.Request) (string, error)
	// OnConnected runs after a user connected; nil redirects to the
	// attempt's ReturnTo.
	OnConnected func(w http.ResponseWriter, r *http.Request, c *Connection)
	// OnAdminConsent runs after an admin consented; nil redirects to ReturnTo.
	OnAdminConsent func(w http.ResponseWriter, r *http.Request, a *AdminConsent)
	// OnError runs when a step fails; nil answers with [HTTPStatus] and,
	// for this package's own errors, their remediation as plain text (they
	// hold no secrets); other failures are logged, not shown.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
}

// ErrNoSession: the request has no signed-in host session (Hooks.Session
// returned ""), so no attempt can be bound to it.
var ErrNoSession = errors.New("consent: no signed-in session")

// HTTPStatus is the status [Connector.Handler] answers err with, for
// hosts writing their own OnError: 400 for the browser's bad input and for
// outcomes the user or admin must act on (a refused callback, declined
// consent, wrong tenant, blocked sign-in: every *[Error] not listed
// below); 401 for [ErrNoSession]; 503 when the identity platform or
// Microsoft Graph is unavailable (m365link.ErrUnavailable, which
// [ErrUnavailable] matches); 500 for failures on the host's side: the
// app's own credentials rejected (invalid_client), the state store, the
// hooks, or anything else.
func HTTPStatus(err error) int {
	var ce *Error
	switch {
	case errors.Is(err, ErrNoSession):
		return http.StatusUnauthorized
	case errors.Is(err, m365link.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.As(err, &ce) && ce.OAuthError == "invalid_client":
		return http.StatusInternalServerError
	case ce != nil:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// bindingCookie ties an attempt to the browser that began it, on top of
// the host's session.
const bindingCookie = "m365link_binding"

// Handler returns the routes a host mounts under prefix (e.g. "/m365"):
//
//	GET {prefix}/connect?return_to=/path         redirect a user to connect
//	GET {prefix}/admin-consent?return_to=/path   redirect an admin to sign in, then consent
//	GET {prefix}/callback                        the user-connect redirect URI
//	GET {prefix}/admin-callback                  the admin redirect URI (sign-in and consent)
//
// Both callback routes complete any flow ([Connector.Complete]), so the
// default Config (AdminRedirectURI empty: every flow returns to
// {prefix}/callback) works as well as a separate admin redirect URI.
// The connect route also takes tenant, login_hint and domain_hint; the
// admin-consent route takes tenant (where the administrator signs in: the
// tenant consented to is always the one the signed ID token names),
// login_hint and domain_hint. A host that already knows a customer's
// tenant ID makes its own link with [Connector.AdminConsentURL]; its
// callback arrives here too.
//
// Every attempt is bound to an HttpOnly, Secure, SameSite=Lax cookie as
// well as to the host session, so a callback completes only in the
// browser that started it. A browser that still holds a valid binding
// cookie keeps it, so a second attempt (or a cross-site request forcing
// one) does not break one in flight. Redirects after success go to
// relative paths only: no open redirects.
func (c *Connector) Handler(prefix string, h Hooks) http.Handler {
	prefix = strings.TrimRight(prefix, "/")
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/connect", func(w http.ResponseWriter, r *http.Request) {
		session, ok := c.beginSession(w, r, h, prefix)
		if !ok {
			return
		}
		q := r.URL.Query()
		u, err := c.BeginConnect(r.Context(), session, &ConnectOptions{
			Tenant: q.Get("tenant"), LoginHint: q.Get("login_hint"), DomainHint: q.Get("domain_hint"), ReturnTo: q.Get("return_to"),
		})
		if err != nil {
			c.fail(w, r, h, err)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET "+prefix+"/admin-consent", func(w http.ResponseWriter, r *http.Request) {
		session, ok := c.beginSession(w, r, h, prefix)
		if !ok {
			return
		}
		q := r.URL.Query()
		u, err := c.BeginAdminConsent(r.Context(), session, &AdminConsentOptions{
			Tenant: q.Get("tenant"), LoginHint: q.Get("login_hint"), DomainHint: q.Get("domain_hint"), ReturnTo: q.Get("return_to"),
		})
		if err != nil {
			c.fail(w, r, h, err)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})
	callback := func(w http.ResponseWriter, r *http.Request) {
		session, binding, ok := c.callbackSession(w, r, h)
		if !ok {
			return
		}
		done, err := c.Complete(r.Context(), session, r.URL.RawQuery)
		switch {
		case err != nil:
			c.fail(w, r, h, err)
		case done.AdminConsentURL != "":
			// The consent step is a new attempt: the cookie must outlive it.
			c.setBinding(w, prefix, binding)
			http.Redirect(w, r, done.AdminConsentURL, http.StatusFound)
		case done.AdminConsent != nil && h.OnAdminConsent != nil:
			h.OnAdminConsent(w, r, done.AdminConsent)
		case done.AdminConsent != nil:
			http.Redirect(w, r, done.AdminConsent.ReturnTo, http.StatusFound)
		case h.OnConnected != nil:
			h.OnConnected(w, r, done.Connection)
		default:
			http.Redirect(w, r, done.Connection.ReturnTo, http.StatusFound)
		}
	}
	mux.HandleFunc("GET "+prefix+"/callback", callback)
	mux.HandleFunc("GET "+prefix+"/admin-callback", callback)
	return mux
}

func (c *Connector) beginSession(w http.ResponseWriter, r *http.Request, h Hooks, prefix string) (string, bool) {
	host, err := hostSession(r, h)
	if err != nil {
		c.fail(w, r, h, err)
		return "", false
	}
	b := ""
	if ck, err := r.Cookie(bindingCookie); err == nil && validBinding(ck.Value) {
		b = ck.Value
	} else {
		b = randomString(24)
	}
	c.setBinding(w, prefix, b)
	return host + "\x00" + b, true
}

func (c *Connector) setBinding(w http.ResponseWriter, prefix, b string) {
	http.SetCookie(w, &http.Cookie{Name: bindingCookie, Value: b, Path: prefix + "/", MaxAge: int(c.cfg.StateTTL.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// validBinding reports whether v has the shape of a binding the handler
// made (24 random bytes, base64url): anything else is replaced.
func validBinding(v string) bool {
	if len(v) != 32 {
		return false
	}
	for _, r := range v {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// callbackSession returns the session a callback is checked against and
// the browser's binding cookie. The cookie stays: another attempt of the
// same browser may still be in flight, and it expires on its own.
func (c *Connector) callbackSession(w http.ResponseWriter, r *http.Request, h Hooks) (string, string, bool) {
	host, err := hostSession(r, h)
	if err != nil {
		c.fail(w, r, h, err)
		return "", "", false
	}
	ck, err := r.Cookie(bindingCookie)
	if err != nil || !validBinding(ck.Value) {
		c.fail(w, r, h, invalid("the browser that started this attempt did not send it back (cookie missing)"))
		return "", "", false
	}
	return host + "\x00" + ck.Value, ck.Value, true
}

func hostSession(r *http.Request, h Hooks) (string, error) {
	if h.Session == nil {
		return "", errors.New("consent: Hooks.Session is required")
	}
	s, err := h.Session(r)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", ErrNoSession
	}
	return s, nil
}

func (c *Connector) fail(w http.ResponseWriter, r *http.Request, h Hooks, err error) {
	status := HTTPStatus(err)
	if status >= 500 {
		c.log.ErrorContext(r.Context(), "consent: request failed", "path", r.URL.Path, "status", status, "err", err)
	}
	if h.OnError != nil {
		h.OnError(w, r, err)
		return
	}
	msg := err.Error()
	var ce *Error
	if !errors.As(err, &ce) && !errors.Is(err, ErrNoSession) {
		// Our own failures may name internals (a database, a host hook):
		// the log has them, the browser gets the status.
		msg = http.StatusText(status)
	}
	http.Error(w, msg, status)
}

package consent

import (
	"errors"
	"net/http"
	"strings"
)

// Hooks connect the [Connector.Handler] routes to the host.
type Hooks struct {
	// Session names the host's signed-in user or session for a request
	// (required). A callback only completes for the session that began it.
	Session func(r *http.Request) (string, error)
	// OnConnected runs after a user connected; nil redirects to the
	// attempt's ReturnTo.
	OnConnected func(w http.ResponseWriter, r *http.Request, c *Connection)
	// OnAdminConsent runs after an admin consented; nil redirects to ReturnTo.
	OnAdminConsent func(w http.ResponseWriter, r *http.Request, a *AdminConsent)
	// OnError runs when a step fails; nil answers 400 with the error's
	// remediation as plain text (it holds no secrets).
	OnError func(w http.ResponseWriter, r *http.Request, err error)
}

// bindingCookie ties an attempt to the browser that began it, on top of
// the host's session.
const bindingCookie = "m365link_binding"

// Handler returns the routes a host mounts under prefix (e.g. "/m365"):
//
//	GET {prefix}/connect?return_to=/path         redirect a user to connect
//	GET {prefix}/callback                        the user-connect redirect URI
//	GET {prefix}/admin-consent?tenant=…          redirect an admin to consent
//	GET {prefix}/admin-callback                  the admin-consent redirect URI
//
// Every attempt also sets an HttpOnly, Secure, SameSite=Lax cookie whose
// value is bound into the state, so a callback completes only in the
// browser that started it. Redirects after success go to relative paths
// only: no open redirects.
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
			fail(w, r, h, err)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET "+prefix+"/admin-consent", func(w http.ResponseWriter, r *http.Request) {
		session, ok := c.beginSession(w, r, h, prefix)
		if !ok {
			return
		}
		u, err := c.AdminConsentURL(r.Context(), session, r.URL.Query().Get("tenant"), r.URL.Query().Get("return_to"))
		if err != nil {
			fail(w, r, h, err)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET "+prefix+"/callback", func(w http.ResponseWriter, r *http.Request) {
		session, ok := c.callbackSession(w, r, h, prefix)
		if !ok {
			return
		}
		conn, err := c.CompleteConnect(r.Context(), session, r.URL.RawQuery)
		if err != nil {
			fail(w, r, h, err)
			return
		}
		if h.OnConnected != nil {
			h.OnConnected(w, r, conn)
			return
		}
		http.Redirect(w, r, conn.ReturnTo, http.StatusFound)
	})
	mux.HandleFunc("GET "+prefix+"/admin-callback", func(w http.ResponseWriter, r *http.Request) {
		session, ok := c.callbackSession(w, r, h, prefix)
		if !ok {
			return
		}
		ac, err := c.CompleteAdminConsent(r.Context(), session, r.URL.RawQuery)
		if err != nil {
			fail(w, r, h, err)
			return
		}
		if h.OnAdminConsent != nil {
			h.OnAdminConsent(w, r, ac)
			return
		}
		http.Redirect(w, r, ac.ReturnTo, http.StatusFound)
	})
	return mux
}

func (c *Connector) beginSession(w http.ResponseWriter, r *http.Request, h Hooks, prefix string) (string, bool) {
	host, err := hostSession(r, h)
	if err != nil {
		fail(w, r, h, err)
		return "", false
	}
	b := randomString(24)
	http.SetCookie(w, &http.Cookie{Name: bindingCookie, Value: b, Path: prefix + "/", MaxAge: int(c.cfg.StateTTL.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	return host + "\x00" + b, true
}

func (c *Connector) callbackSession(w http.ResponseWriter, r *http.Request, h Hooks, prefix string) (string, bool) {
	host, err := hostSession(r, h)
	if err != nil {
		fail(w, r, h, err)
		return "", false
	}
	ck, err := r.Cookie(bindingCookie)
	if err != nil || ck.Value == "" {
		fail(w, r, h, invalid("the browser that started this attempt did not send it back (cookie missing)"))
		return "", false
	}
	http.SetCookie(w, &http.Cookie{Name: bindingCookie, Value: "", Path: prefix + "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	return host + "\x00" + ck.Value, true
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
		return "", errors.New("consent: no signed-in session")
	}
	return s, nil
}

func fail(w http.ResponseWriter, r *http.Request, h Hooks, err error) {
	if h.OnError != nil {
		h.OnError(w, r, err)
		return
	}
	http.Error(w, err.Error(), http.StatusBadRequest)
}

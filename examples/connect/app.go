package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/tokens"
)

// What the app asks for: each user connects for mail and calendar sync
// (delegated); an administrator may instead let a service sync the
// mailboxes they choose (application permissions).
var (
	userFeatures = []consent.Feature{consent.MailSync, consent.CalendarSync}
	appFeatures  = []consent.Feature{consent.MailSync, consent.CalendarSync, consent.MailboxPolicy}
)

var randRead = rand.Read

// openDB opens the SQLite database ("file:…" or ":memory:").
func openDB(path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)"
	if path == ":memory:" {
		dsn = ":memory:"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	return db, db.Ping()
}

// account is a connected user or a consented tenant, as the host records it.
type account struct {
	Account     m365link.Account
	UPN, Name   string
	Verified    bool // a tenant's consent was proven with an app-only token
	ConnectedAt time.Time
}

// accounts is the host's record of who connected: what a real host keeps in
// its own user and customer tables. The tokens themselves are in the tokens
// store (sqlstore), encrypted.
type accounts struct{ db *sql.DB }

func newAccounts(ctx context.Context, db *sql.DB) (*accounts, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS connect_accounts (
	key TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL, upn TEXT NOT NULL, name TEXT NOT NULL,
	verified INTEGER NOT NULL, connected_at TEXT NOT NULL)`)
	return &accounts{db: db}, err
}

func (s *accounts) put(ctx context.Context, a account) error {
	v := 0
	if a.Verified {
		v = 1
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO connect_accounts (key, tenant, user_id, upn, name, verified, connected_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET upn = excluded.upn, name = excluded.name, verified = excluded.verified, connected_at = excluded.connected_at`,
		a.Account.Key(), a.Account.TenantID, a.Account.UserID, a.UPN, a.Name, v, a.ConnectedAt.UTC().Format(time.RFC3339))
	return err
}

func (s *accounts) list(ctx context.Context) ([]account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant, user_id, upn, name, verified, connected_at FROM connect_accounts ORDER BY user_id <> '', upn, tenant`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []account
	for rows.Next() {
		var a account
		var v int
		var at string
		if err := rows.Scan(&a.Account.TenantID, &a.Account.UserID, &a.UPN, &a.Name, &v, &at); err != nil {
			return nil, err
		}
		a.Verified = v == 1
		a.ConnectedAt, _ = time.Parse(time.RFC3339, at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// app is the example's web app.
type app struct {
	conn     *consent.Connector
	tokens   *tokens.Manager
	accounts *accounts
	appPlan  consent.Plan
	userPlan consent.Plan
}

func newApp(conn *consent.Connector, mgr *tokens.Manager, acc *accounts) (*app, error) {
	appPlan, err := consent.PlanFor(consent.Application, appFeatures...)
	if err != nil {
		return nil, err
	}
	userPlan, err := consent.PlanFor(consent.Delegated, userFeatures...)
	if err != nil {
		return nil, err
	}
	return &app{conn: conn, tokens: mgr, accounts: acc, appPlan: appPlan, userPlan: userPlan}, nil
}

const sessionCookie = "connect_session"

// withSession gives every browser a session cookie: the example's stand-in
// for the host's signed-in user, which consent binds each attempt to.
func withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
			b := make([]byte, 16)
			if _, err := randRead(b); err != nil {
				http.Error(w, "no randomness", http.StatusInternalServerError)
				return
			}
			v := hex.EncodeToString(b)
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: v})
		}
		next.ServeHTTP(w, r)
	})
}

// Handler serves the pages and the consent routes.
func (a *app) Handler() http.Handler {
	mux := http.NewServeMux()
	hooks := consent.Hooks{
		Session: func(r *http.Request) (string, error) {
			c, err := r.Cookie(sessionCookie)
			if err != nil {
				return "", nil
			}
			return c.Value, nil
		},
		OnConnected: func(w http.ResponseWriter, r *http.Request, c *consent.Connection) {
			if err := a.accounts.put(r.Context(), account{Account: c.Account, UPN: c.UPN, Name: c.Name, ConnectedAt: time.Now()}); err != nil {
				http.Error(w, "could not record the connection", http.StatusInternalServerError)
				return
			}
			http.Redirect(w, r, returnTo(c.ReturnTo), http.StatusSeeOther)
		},
		OnAdminConsent: func(w http.ResponseWriter, r *http.Request, c *consent.AdminConsent) {
			acc := account{Account: m365link.Account{TenantID: c.TenantID}, Verified: c.Verified, ConnectedAt: time.Now()}
			if c.Admin.UserID != "" {
				acc.Name = "consented by " + c.Admin.UserID
			}
			if err := a.accounts.put(r.Context(), acc); err != nil {
				http.Error(w, "could not record the consent", http.StatusInternalServerError)
				return
			}
			http.Redirect(w, r, returnTo(c.ReturnTo), http.StatusSeeOther)
		},
	}
	mux.Handle("/m365/", a.conn.Handler("/m365", hooks))
	mux.HandleFunc("GET /{$}", a.page("home"))
	mux.HandleFunc("GET /admin", a.page("admin"))
	mux.HandleFunc("GET /status", a.page("status"))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return withSession(mux)
}

func returnTo(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "/status"
	}
	return p
}

// row is one line of the status page.
type row struct {
	Kind, Who, Tenant, State, Detail, Since string
	OK                                      bool
	Reconnect                               string // a link to connect again, when that is the fix
}

// check asks for a token of the account now: a refused refresh is what
// tells that a user must reconnect or a tenant's consent is gone.
func (a *app) check(ctx context.Context, acc account) row {
	r := row{Kind: "mailbox", Who: acc.UPN, Tenant: acc.Account.TenantID, Since: acc.ConnectedAt.UTC().Format("2006-01-02 15:04")}
	if acc.Account.AppOnly() {
		r.Kind, r.Who = "tenant (app-only)", "all mailboxes the admin selects"
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := a.tokens.Source(acc.Account).Token(ctx)
	switch {
	case err == nil:
		r.OK, r.State = true, "working"
		if acc.Account.AppOnly() && acc.Verified {
			r.Detail = "admin consent verified with an app-only token"
		}
	case errors.Is(err, m365link.ErrReconnectRequired):
		r.State, r.Detail = "reconnect required", oneLine(err.Error())
		if !acc.Account.AppOnly() {
			r.Reconnect = "/m365/connect?return_to=/status&login_hint=" + acc.UPN
		}
	case errors.Is(err, m365link.ErrConsentRequired):
		r.State, r.Detail = "consent required", oneLine(err.Error())
	default:
		r.State, r.Detail = "error", oneLine(err.Error())
	}
	return r
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

type pageData struct {
	Page                   string
	AppTable, UserTable    template.HTML
	AppAdmin               bool
	Rows                   []row
	Working, Failing, Seen int
}

func (a *app) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := pageData{Page: name, AppAdmin: a.appPlan.NeedsAdmin()}
		switch name {
		case "admin":
			var b1, b2 bytes.Buffer
			if err := a.appPlan.RenderHTML(&b1); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if err := a.userPlan.RenderHTML(&b2); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			d.AppTable, d.UserTable = template.HTML(b1.String()), template.HTML(b2.String()) // escaped by RenderHTML
		case "status":
			accs, err := a.accounts.list(r.Context())
			if err != nil {
				http.Error(w, "could not read the accounts", http.StatusInternalServerError)
				return
			}
			for _, acc := range accs {
				row := a.check(r.Context(), acc)
				d.Rows = append(d.Rows, row)
				if row.OK {
					d.Working++
				} else {
					d.Failing++
				}
			}
			d.Seen = len(d.Rows)
		}
		var b bytes.Buffer
		if err := pages.ExecuteTemplate(&b, name, d); err != nil {
			http.Error(w, "page failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		_, _ = w.Write(b.Bytes())
	}
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.}} · m365link connect example</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
nav a{margin-right:1rem} table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} code{font-size:90%} .button{display:inline-block;padding:.5rem 1rem;background:#0f6cbd;color:#fff;border-radius:4px;text-decoration:none}
.ok{color:#0b6a0b} .bad{color:#b10e1c;font-weight:600} tr.optional td{color:#555}
</style></head><body>
<nav><a href="/">Start</a><a href="/admin">Admin consent</a><a href="/status">Status</a></nav>
{{end}}
{{define "foot"}}</body></html>
{{end}}

{{define "home"}}{{template "head" "Start"}}
<h1>Connect Microsoft 365</h1>
<p>This app links your organisation's Microsoft 365 mail and meetings to its vendor records.</p>
<ol>
<li>An administrator reads <a href="/admin">what the app asks for</a> and grants admin consent for the organisation.</li>
<li>Each user <a href="/m365/connect?return_to=/status">connects their mailbox</a> in one click.</li>
<li>The <a href="/status">status page</a> shows every connected mailbox, and what to do when one stops working.</li>
</ol>
{{template "foot"}}{{end}}

{{define "admin"}}{{template "head" "Admin consent"}}
<h1>Admin consent</h1>
<p>Contents: <a href="#application">for a service that syncs selected mailboxes</a> · <a href="#delegated">for users who connect themselves</a> · <a href="#grant">grant consent</a></p>
<h2 id="application">Application permissions</h2>
<p>With these, the app syncs the mailboxes an administrator selects, without each user connecting.{{if .AppAdmin}} Only an administrator can grant them.{{end}}</p>
{{.AppTable}}
<h2 id="delegated">Delegated permissions</h2>
<p>With these, each user who connects lets the app read their own mail and calendar. Users can grant them themselves unless your organisation requires admin approval.</p>
{{.UserTable}}
<h2 id="grant">Grant consent</h2>
<p>Sign in as a Global Administrator or Privileged Role Administrator. Microsoft then shows the permissions above for your whole organisation; after you accept, you come back to the status page.</p>
<p><a class="button" id="consent-button" href="/m365/admin-consent?return_to=/status">Grant admin consent</a></p>
<p>To revoke access later: in the Microsoft Entra admin center, open Enterprise applications, select this app, and delete it.</p>
{{template "foot"}}{{end}}

{{define "status"}}{{template "head" "Status"}}
<h1>Connected mailboxes</h1>
<p id="summary">{{.Seen}} connected: {{.Working}} working, {{.Failing}} need attention.</p>
{{if .Rows}}<table id="mailboxes">
<thead><tr><th>Who</th><th>Kind</th><th>Tenant</th><th>State</th><th>Since</th><th>Details</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Who}}</td><td>{{.Kind}}</td><td><code>{{.Tenant}}</code></td><td class="{{if .OK}}ok{{else}}bad{{end}}">{{.State}}</td><td>{{.Since}}</td><td>{{.Detail}}{{if .Reconnect}} <a href="{{.Reconnect}}">Reconnect</a>{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p>Nobody has connected yet.</p>{{end}}
<p><a class="button" href="/m365/connect?return_to=/status">Connect my mailbox</a></p>
{{template "foot"}}{{end}}
`))

package consent_test

import (
	"fmt"
	"net/http"
	"os"

	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/tokens"
)

// Render the permissions a "mail + calendar sync" product asks an admin for.
func ExamplePlan_RenderMarkdown() {
	plan, err := consent.PlanFor(consent.Application, consent.MailSync, consent.CalendarSync)
	if err != nil {
		panic(err)
	}
	_ = plan.RenderMarkdown(os.Stdout)
	fmt.Println(plan.Scopes(consent.Global.GraphResource, true))
	// Output:
	// | Permission | Type | Admin consent | Needed | For | Why |
	// |---|---|---|---|---|---|
	// | `Mail.Read` | application | yes | required | mail sync | Read the mail of the mailboxes the admin selects, without each user connecting. |
	// | `User.Read.All` | application | yes | required | mail sync, calendar sync | List the organisation's users and mailboxes, so the admin can choose which mailboxes sync. |
	// | `Calendars.Read` | application | yes | required | calendar sync | Read the calendars of the selected mailboxes. |
	// [https://graph.microsoft.com/.default]
}

// The same features for users who connect one by one (delegated), as text.
func ExamplePlan_RenderText() {
	plan, _ := consent.PlanFor(consent.Delegated, consent.MailSync, consent.CalendarSync)
	_ = plan.RenderText(os.Stdout)
	// Output:
	// Permission            Type       Admin consent  Needed    Why
	// openid                delegated  no             required  Sign the user in.
	// profile               delegated  no             required  Show the user's name after they connect.
	// offline_access        delegated  no             required  Keep the connection working after the user closes the browser (a refresh token), so sync runs in the background.
	// User.Read             delegated  no             required  Sign the user in and read their basic profile (name, email address).
	// email                 delegated  no             optional  Show the user's email address after they connect.
	// Mail.Read             delegated  no             required  Read the mail of the signed-in user, so that correspondence with vendors appears next to their records.
	// MailboxSettings.Read  delegated  no             optional  Read the user's time zone and working hours, to propose meeting times in their own time.
	// Calendars.Read        delegated  no             required  Read the user's calendar, so that meetings with vendors appear next to their records.
}

// Wiring a host: one plan of features drives both the scopes users consent
// to and the scopes the token source refreshes with. (Not run: it needs a
// real app registration; see examples/ for programs configured by
// environment variables.)
func Example_wiring() {
	plan, _ := consent.PlanFor(consent.Delegated, consent.MailSync, consent.CalendarSync)
	cloud := consent.Global

	secret, _ := tokens.ClientSecret(os.Getenv("M365_CLIENT_SECRET"))
	ring, _ := tokens.NewKeyRing(1, loadKeyFromKMS())
	manager, _ := tokens.NewManager(tokens.Config{
		ClientID:   os.Getenv("M365_CLIENT_ID"),
		Credential: secret,
		Store:      tokens.NewEncrypted(&tokens.Memory{}, ring), // tokens/sqlstore in production
		Scopes:     plan.GraphScopes(cloud.GraphResource, true),
	})
	connector, _ := consent.New(consent.Config{
		ClientID:      os.Getenv("M365_CLIENT_ID"),
		Cloud:         cloud,
		RedirectURI:   "https://app.example.com/m365/callback",
		Scopes:        plan.Scopes(cloud.GraphResource, true),
		Tokens:        manager,
		VerifyAppOnly: true,
	})
	http.Handle("/m365/", connector.Handler("/m365", consent.Hooks{
		Session: func(r *http.Request) (string, error) { return sessionUserID(r) },
		OnConnected: func(w http.ResponseWriter, r *http.Request, c *consent.Connection) {
			// Record c.Account for the user, then go back where they were.
			http.Redirect(w, r, c.ReturnTo, http.StatusFound)
		},
	}))
}

func loadKeyFromKMS() []byte                        { return make([]byte, 32) }
func sessionUserID(r *http.Request) (string, error) { return r.Header.Get("X-User"), nil }

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/m365link/m365link/consent"
)

func (c *cli) consentURL(ctx context.Context, args []string) error {
	fs := c.flags("consent-url", "[--tenant <tenant-id>] [--redirect-uri <uri>]",
		"Prints the admin-consent link of a tenant: a Global Administrator (or Privileged Role\n"+
			"Administrator) of that tenant opens it and grants every permission configured on the\n"+
			"app registration (see \"m365link permissions\"). No call to Microsoft is made.\n\n"+
			"Microsoft then sends the browser to the redirect URI. The link is not tied to a\n"+
			"session of your app, so your app's callback may refuse it: the consent is granted\n"+
			"anyway. Confirm it with \"m365link test-connection\".", true)
	tenant := fs.String("tenant", "", "the tenant ID (default $"+envTenant+")")
	redirect := fs.String("redirect-uri", "", "the registered redirect URI (default $"+envRedirectURI+")")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	t, err := c.connect(*tenant, false)
	if err != nil {
		return err
	}
	defer t.Close()
	conn, err := c.connector(t, *redirect)
	if err != nil {
		return err
	}
	link, err := conn.AdminConsentURL(ctx, "m365link-cli", t.Tenant, "/")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.stdout, link)
	return err
}

// checkJSON is one check of test-connection --json.
type checkJSON struct {
	Name        string `json:"name"`
	Permission  string `json:"permission,omitempty"`
	OK          bool   `json:"ok"`
	Error       string `json:"error,omitempty"`
	Remediation string `json:"remediation,omitempty"`
}

func (c *cli) testConnection(ctx context.Context, args []string) error {
	fs := c.flags("test-connection", "[--tenant <tenant-id>] [--mailbox <upn>] [--json]",
		"Tests what the app-only (service) connection can do in the tenant now: get a token,\n"+
			"list users, find the mailbox and read its Inbox and calendar. Each failed check says\n"+
			"what to do. The exit status is 1 when a check failed.", true)
	tenant := fs.String("tenant", "", "the tenant ID (default $"+envTenant+")")
	mailbox := fs.String("mailbox", "", "a mailbox (UPN or user ID) to read (default $"+envMailbox+"; --fake: alice@contoso.com)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	t, err := c.connect(*tenant, true)
	if err != nil {
		return err
	}
	defer t.Close()
	if *mailbox == "" {
		*mailbox = c.getenv(envMailbox)
	}
	if *mailbox == "" && t.Generated != nil {
		*mailbox = t.Generated.Users[0].UPN
	}
	// The connection test needs no redirect URI; a placeholder satisfies
	// the connector's configuration.
	redirect := "https://localhost/m365/callback"
	if t.Fake != nil {
		redirect = ""
	}
	conn, err := c.connector(t, redirect)
	if err != nil {
		return err
	}
	rep, err := conn.TestConnection(ctx, t.Graph, t.Tenant, *mailbox)
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			Tenant  string      `json:"tenant"`
			Mailbox string      `json:"mailbox,omitempty"`
			OK      bool        `json:"ok"`
			Checks  []checkJSON `json:"checks"`
		}{rep.Tenant, rep.Mailbox, rep.OK(), []checkJSON{}}
		for _, ch := range rep.Checks {
			j := checkJSON{Name: ch.Name, Permission: ch.Permission, OK: ch.OK(), Remediation: ch.Remediation}
			if ch.Err != nil {
				j.Error = ch.Err.Error()
			}
			out.Checks = append(out.Checks, j)
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		c.printReport(rep)
	}
	if !rep.OK() {
		return errFailed
	}
	return nil
}

func (c *cli) printReport(rep *consent.ConnectionReport) {
	w := c.stdout
	fmt.Fprintf(w, "Connection test of tenant %s", rep.Tenant)
	if rep.Mailbox != "" {
		fmt.Fprintf(w, ", mailbox %s", rep.Mailbox)
	}
	fmt.Fprintln(w)
	failed := 0
	for _, ch := range rep.Checks {
		mark := "ok  "
		if !ch.OK() {
			mark, failed = "FAIL", failed+1
		}
		perm := ""
		switch {
		case strings.HasPrefix(ch.Permission, "("):
			perm = " " + ch.Permission
		case ch.Permission != "":
			perm = " (" + ch.Permission + ")"
		}
		fmt.Fprintf(w, "  %s  %s%s\n", mark, ch.Name, perm)
		if !ch.OK() {
			fmt.Fprintf(w, "        error: %s\n", oneLine(ch.Err.Error()))
			if ch.Remediation != "" {
				fmt.Fprintf(w, "        fix:   %s\n", ch.Remediation)
			}
		}
	}
	if failed == 0 {
		fmt.Fprintf(w, "All %d checks passed: the app-only connection works.\n", len(rep.Checks))
	} else {
		fmt.Fprintf(w, "%d of %d checks failed.\n", failed, len(rep.Checks))
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

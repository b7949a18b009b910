package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/m365link/m365link/internal/report"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/vendors"
)

// reportData fills the report from everything the database holds (not only
// what this pass brought: a second run is incremental) and the statuses of
// the mailboxes synced.
func reportData(ctx context.Context, items *itemStore, vs []vendors.Vendor, statuses []m365sync.Status, tenant string, now time.Time) (*report.Data, error) {
	stored, perMailbox, err := items.items(ctx)
	if err != nil {
		return nil, err
	}
	d := &report.Data{Title: "m365link: vendor activity in tenant " + tenant, Generated: now}
	for _, v := range vs {
		d.Vendors = append(d.Vendors, report.Vendor{ID: v.ID, Name: v.Name})
	}
	for _, it := range stored {
		d.Items = append(d.Items, report.Item{Kind: it.Kind, Mailbox: it.UPN, Subject: it.Subject, At: it.At, VendorIDs: it.Vendors, Contacts: it.Contacts})
	}
	for _, st := range statuses {
		d.Mailboxes = append(d.Mailboxes, report.MailboxStatus{Mailbox: st.Mailbox.String(), State: string(st.State), Reason: oneLine(st.Reason),
			LastSync: st.LastSync, Items: perMailbox[st.Mailbox.Key()]})
	}
	return d, nil
}

// writeReport prints the per-vendor activity table and, with htmlPath,
// writes the HTML page.
func (c *cli) writeReport(ctx context.Context, items *itemStore, vs []vendors.Vendor, statuses []m365sync.Status, htmlPath, tenant string) error {
	d, err := reportData(ctx, items, vs, statuses, tenant, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		fmt.Fprintln(c.stdout, "\nActivity by vendor (everything stored, not only this pass):")
		if err := report.Table(c.stdout, d); err != nil {
			return err
		}
	}
	if htmlPath == "" {
		return nil
	}
	f, err := os.Create(htmlPath)
	if err != nil {
		return err
	}
	if err := report.HTML(f, d); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", htmlPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", htmlPath, err)
	}
	_, err = fmt.Fprintf(c.stdout, "\nWrote %s: open it in a browser.\n", htmlPath)
	return err
}

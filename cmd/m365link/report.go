package main

import (
	"context"

	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/vendors"
)

// writeReport: placeholder until internal/report is merged.
func (c *cli) writeReport(ctx context.Context, items *itemStore, vs []vendors.Vendor, statuses []m365sync.Status, htmlPath, tenant string) error {
	return nil
}

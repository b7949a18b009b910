package report_test

import (
	"fmt"
	"os"
	"time"

	"github.com/m365link/m365link/internal/report"
)

// A host fills Data from its store and prints the vendor table and one
// vendor's timeline; HTML writes the same as a page.
func Example() {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	d := &report.Data{
		Vendors: []report.Vendor{{ID: "acme", Name: "Acme Corporation"}, {ID: "globex", Name: "Globex"}},
		Items: []report.Item{
			{Kind: report.KindMail, Mailbox: "alice@contoso.com", Subject: "Quotation Q-118", At: day(3, 9), VendorIDs: []string{"acme"}, Contacts: []string{"ann@acme.com"}},
			{Kind: report.KindMail, Mailbox: "alice@contoso.com", Subject: "Re: Quotation Q-118", At: day(4, 11), VendorIDs: []string{"acme"}, Contacts: []string{"ann@acme.com"}},
			{Kind: report.KindMeeting, Mailbox: "bob@contoso.com", Subject: "Site visit", At: day(10, 14), VendorIDs: []string{"acme"}, Contacts: []string{"ben@acme.co.uk"}},
			{Kind: report.KindMail, Mailbox: "carol@contoso.com", Subject: "Invoice 7781", At: day(15, 8), VendorIDs: []string{"globex"}, Contacts: []string{"oscar@globex.com"}},
		},
	}
	if err := report.Table(os.Stdout, d); err != nil {
		fmt.Println(err)
	}
	fmt.Println()
	if err := report.Timeline(os.Stdout, d, "acme", 2); err != nil {
		fmt.Println(err)
	}
	// Output:
	// vendor            messages  meetings  last contact  top contacts
	// Acme Corporation  2         1         2026-11-10    ann@acme.com, ben@acme.co.uk
	// Globex            1         0         2026-11-15    oscar@globex.com
	//
	// Acme Corporation: 3 items, the latest 2
	//   2026-11-10 14:00  meeting  bob@contoso.com    Site visit           ben@acme.co.uk
	//   2026-11-04 11:00  mail     alice@contoso.com  Re: Quotation Q-118  ann@acme.com
}

package m365link_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/m365link/m365link"
)

// Hosts classify any error the library returns with errors.Is and errors.As.
func ExampleGraphError() {
	var err error = &m365link.GraphError{
		StatusCode: 429,
		Code:       "ApplicationThrottled",
		Message:    "Application is over its MailboxConcurrency limit.",
		RequestID:  "0f7d3b1e-5a8c-4c1e-9d6b-2b8f1f4c7a10",
		RetryAfter: 3 * time.Second,
	}
	err = fmt.Errorf("sync alice@contoso.com: %w", err)

	if errors.Is(err, m365link.ErrThrottled) {
		wait, _ := m365link.RetryAfter(err)
		fmt.Println("throttled, retry in", wait)
	}
	var ge *m365link.GraphError
	if errors.As(err, &ge) {
		fmt.Println("support reference:", ge.RequestID)
	}
	// Output:
	// throttled, retry in 3s
	// support reference: 0f7d3b1e-5a8c-4c1e-9d6b-2b8f1f4c7a10
}

func ExampleReconnectError() {
	err := error(&m365link.ReconnectError{
		Account:     m365link.Account{TenantID: "72F988BF-86F1-41AF-91AB-2D7CD011DB47", UserID: "6E7B768E-07E2-4810-8459-485F84F8F204"},
		Reason:      m365link.ReasonExpired,
		Code:        "AADSTS700082",
		Description: "the refresh token expired after 90 days of inactivity",
	})
	fmt.Println(errors.Is(err, m365link.ErrReconnectRequired))
	fmt.Println(err)
	// Output:
	// true
	// m365link: reconnect required for 72f988bf-86f1-41af-91ab-2d7cd011db47/6e7b768e-07e2-4810-8459-485f84f8f204: expired (AADSTS700082): the refresh token expired after 90 days of inactivity
}

func ExampleMessage_Participants() {
	m := m365link.Message{
		From: m365link.EmailAddress{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
		To:   []m365link.EmailAddress{{Name: "Alice", Address: "alice@contoso.com"}},
		Cc:   []m365link.EmailAddress{{Address: "sales@acme.co.uk"}},
	}
	for _, p := range m.Participants() {
		fmt.Println(p, "->", p.Domain())
	}
	// Output:
	// Ann Vendor <ann@acme.co.uk> -> acme.co.uk
	// Alice <alice@contoso.com> -> contoso.com
	// sales@acme.co.uk -> acme.co.uk
}

func ExampleAccount_Key() {
	user := m365link.Account{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", UserID: "6e7b768e-07e2-4810-8459-485f84f8f204"}
	app := m365link.Account{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47"}
	fmt.Println(user.Key(), user.AppOnly())
	fmt.Println(app.Key(), app.AppOnly())
	// Output:
	// 72f988bf-86f1-41af-91ab-2d7cd011db47/6e7b768e-07e2-4810-8459-485f84f8f204 false
	// 72f988bf-86f1-41af-91ab-2d7cd011db47 true
}

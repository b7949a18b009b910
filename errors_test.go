package m365link

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A GraphError classifies itself from what Graph said: the sentinel its
// status and codes name, and the wider one that sentinel belongs to.
func TestGraphErrorIsMatchesItsAnswerAndTheWiderSentinel(t *testing.T) {
	all := []error{ErrThrottled, ErrUnavailable, ErrUnauthorized, ErrForbidden, ErrConsentRequired,
		ErrNotFound, ErrMailboxNotEnabled, ErrSyncReset, ErrReconnectRequired, ErrMalformedResponse, ErrUntrustedLink}
	tests := []struct {
		name string
		ge   GraphError
		want []error
	}{
		{"400 bad request", GraphError{StatusCode: 400, Code: "BadRequest"}, nil},
		{"418 anything else", GraphError{StatusCode: 418}, nil},
		{"429", GraphError{StatusCode: 429, Code: "ApplicationThrottled"}, []error{ErrThrottled}},
		{"500", GraphError{StatusCode: 500}, []error{ErrUnavailable}},
		{"502", GraphError{StatusCode: 502}, []error{ErrUnavailable}},
		{"503", GraphError{StatusCode: 503}, []error{ErrUnavailable}},
		{"504", GraphError{StatusCode: 504}, []error{ErrUnavailable}},
		{"401", GraphError{StatusCode: 401, Code: "InvalidAuthenticationToken"}, []error{ErrUnauthorized}},
		{"403 access denied", GraphError{StatusCode: 403, Code: "ErrorAccessDenied"}, []error{ErrForbidden}},
		{"403 request denied", GraphError{StatusCode: 403, Code: "Authorization_RequestDenied"}, []error{ErrForbidden, ErrConsentRequired}},
		{"403 insufficient privileges", GraphError{StatusCode: 403, Message: "Insufficient privileges to complete the operation."}, []error{ErrForbidden, ErrConsentRequired}},
		{"403 missing scope", GraphError{StatusCode: 403, Message: "Missing scope permissions on the request."}, []error{ErrForbidden, ErrConsentRequired}},
		{"404", GraphError{StatusCode: 404, Code: "ErrorItemNotFound"}, []error{ErrNotFound}},
		{"404 inactive mailbox by message", GraphError{StatusCode: 404, Message: "The mailbox is either inactive, soft-deleted, or is hosted on-premise."},
			[]error{ErrNotFound, ErrMailboxNotEnabled}},
		{"mailbox not enabled by code", GraphError{StatusCode: 404, Code: "MailboxNotEnabledForRESTAPI"}, []error{ErrNotFound, ErrMailboxNotEnabled}},
		{"mailbox not enabled by inner code", GraphError{StatusCode: 400, InnerCode: "ErrorMailboxNotEnabled"}, []error{ErrNotFound, ErrMailboxNotEnabled}},
		{"410", GraphError{StatusCode: 410}, []error{ErrSyncReset}},
		{"sync state not found", GraphError{StatusCode: 400, Code: "syncStateNotFound"}, []error{ErrSyncReset}},
		{"sync state invalid, inner, any case", GraphError{StatusCode: 400, Code: "BadRequest", InnerCode: "SYNCSTATEINVALID"}, []error{ErrSyncReset}},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &tt.ge)
		var got []error
		for _, s := range all {
			if errors.Is(err, s) {
				got = append(got, s)
			}
		}
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestItemError(t *testing.T) {
	cause := errors.New("bad date")
	err := &ItemError{ID: "AAMk=", Index: 3, Err: cause}
	assert.Equal(t, "m365link: item AAMk=: bad date", err.Error())
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, "m365link: item #3: bad date", (&ItemError{Index: 3, Err: cause}).Error())
}

func TestEmailAddress(t *testing.T) {
	assert.Equal(t, "acme.co.uk", EmailAddress{Address: "Ann@ACME.co.uk"}.Domain())
	assert.Equal(t, "", EmailAddress{Address: "no-at-sign"}.Domain())
	assert.Equal(t, "", EmailAddress{Address: "trailing@"}.Domain())
	assert.Equal(t, "a@b.c", EmailAddress{Name: "a@b.c", Address: "a@b.c"}.String())
}

func TestMailboxKeyAndString(t *testing.T) {
	m := Mailbox{TenantID: "T1", UserID: "U1", UPN: "alice@contoso.com"}
	assert.Equal(t, "t1/u1", m.Key())
	assert.Equal(t, "alice@contoso.com", m.String())
	assert.Equal(t, "t1/u1", Mailbox{TenantID: "T1", UserID: "U1"}.String())
	assert.Equal(t, Account{TenantID: "T1", UserID: "U1"}, m.Account())
}

func TestEventParticipants(t *testing.T) {
	e := Event{Organizer: EmailAddress{Address: "o@x.com"}, Attendees: []Attendee{{EmailAddress: EmailAddress{Address: "a@y.com"}}}}
	assert.Equal(t, []EmailAddress{{Address: "o@x.com"}, {Address: "a@y.com"}}, e.Participants())
}

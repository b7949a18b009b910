package m365link

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGraphErrorIsMatchesItsKindAndTheWiderSentinel(t *testing.T) {
	all := []error{ErrThrottled, ErrUnavailable, ErrUnauthorized, ErrForbidden, ErrConsentRequired,
		ErrNotFound, ErrMailboxNotEnabled, ErrSyncReset, ErrReconnectRequired, ErrMalformedResponse, ErrUntrustedLink}
	tests := []struct {
		kind ErrorKind
		want []error
	}{
		{KindOther, nil},
		{KindBadRequest, nil},
		{KindThrottled, []error{ErrThrottled}},
		{KindUnavailable, []error{ErrUnavailable}},
		{KindUnauthorized, []error{ErrUnauthorized}},
		{KindForbidden, []error{ErrForbidden}},
		{KindConsentRequired, []error{ErrForbidden, ErrConsentRequired}},
		{KindNotFound, []error{ErrNotFound}},
		{KindMailboxNotEnabled, []error{ErrNotFound, ErrMailboxNotEnabled}},
		{KindSyncReset, []error{ErrSyncReset}},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &GraphError{Kind: tt.kind})
		var got []error
		for _, s := range all {
			if errors.Is(err, s) {
				got = append(got, s)
			}
		}
		assert.Equal(t, tt.want, got, tt.kind.String())
	}
}

func TestGraphErrorTemporary(t *testing.T) {
	assert.True(t, (&GraphError{Kind: KindThrottled}).Temporary())
	assert.True(t, (&GraphError{Kind: KindUnavailable}).Temporary())
	assert.False(t, (&GraphError{Kind: KindNotFound}).Temporary())
}

func TestErrorKindString(t *testing.T) {
	assert.Equal(t, "mailbox not enabled", KindMailboxNotEnabled.String())
	assert.Equal(t, "kind(200)", ErrorKind(200).String())
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

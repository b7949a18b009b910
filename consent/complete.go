package consent

import "context"

// Completed is what a callback completed ([Connector.Complete]): exactly
// one field is set.
type Completed struct {
	// Connection is set when a user connected.
	Connection *Connection
	// AdminConsentURL is set when an administrator signed in before
	// consenting: the admin-consent page of their tenant, where the
	// browser goes next.
	AdminConsentURL string
	// AdminConsent is set when an administrator consented.
	AdminConsent *AdminConsent
}

// Complete handles a callback of any flow this connector began, for the
// session that began it: for a host that registered one redirect URI for
// every flow (Config.AdminRedirectURI empty), whose callback cannot tell
// the flows apart before the state is read. It reads the state once and
// completes the step the state was issued for, with exactly the checks of
// [Connector.CompleteConnect], [Connector.CompleteAdminSignIn] or
// [Connector.CompleteAdminConsent]. [Connector.Handler] serves its
// callback routes with it.
func (c *Connector) Complete(ctx context.Context, session, rawQuery string) (*Completed, error) {
	p, err := parseCallback(rawQuery)
	if err != nil {
		return nil, err
	}
	a, err := c.take(ctx, session, p, FlowConnect, FlowAdminSignIn, FlowAdminConsent)
	if err != nil {
		return nil, err
	}
	switch a.Flow {
	case FlowConnect:
		conn, err := c.completeConnect(ctx, a, p)
		if err != nil {
			return nil, err
		}
		return &Completed{Connection: conn}, nil
	case FlowAdminSignIn:
		next, err := c.completeAdminSignIn(ctx, a, p)
		if err != nil {
			return nil, err
		}
		return &Completed{AdminConsentURL: next}, nil
	default:
		ac, err := c.completeAdminConsent(ctx, a, p)
		if err != nil {
			return nil, err
		}
		return &Completed{AdminConsent: ac}, nil
	}
}

package graph

// The public handle hosts hold (graphclient.Client) wraps a *Client. It
// lives in a public package, which library packages import for their
// Config types, and it registers here how to reach the client inside, so
// that no exported signature anywhere needs to name this internal type.

var unwrap func(handle any) *Client

// RegisterHandle is called once, by the public handle's package.
func RegisterHandle(f func(handle any) *Client) { unwrap = f }

// FromHandle returns the client inside a public handle, or nil for a nil
// handle.
func FromHandle(handle any) *Client {
	if unwrap == nil || handle == nil {
		return nil
	}
	return unwrap(handle)
}

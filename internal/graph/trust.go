package graph

import "net/url"

// Trusts reports whether link is one the client would follow: an absolute
// URL without credentials on the configured Graph origin. A cursor saved
// with any other link can never be used again.
func (c *Client) Trusts(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.IsAbs() && u.User == nil && originOf(u) == c.origin
}

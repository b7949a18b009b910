package graph

import (
	"net/url"
	"strings"
)

// Trusts reports whether link is one the client would follow: an absolute
// URL without credentials on the configured Graph origin. A cursor saved
// with any other link can never be used again.
func (c *Client) Trusts(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.IsAbs() && u.User == nil && originOf(u) == c.origin
}

// BatchURL returns link as a $batch item's url: its path below the
// client's base URL with its query ("/users/…/delta()?$deltatoken=…").
// ok is false for a link the client would not follow, or one outside the
// base path.
func (c *Client) BatchURL(link string) (string, bool) {
	u, err := url.Parse(link)
	if err != nil || !c.Trusts(link) {
		return "", false
	}
	base := strings.TrimSuffix(c.base.EscapedPath(), "/")
	rest, ok := strings.CutPrefix(u.EscapedPath(), base+"/")
	if !ok {
		return "", false
	}
	out := "/" + rest
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out, true
}

// DecodeTrustedPage decodes a collection page that arrived other than
// through [GetPage] (as a $batch item's body) and checks its links as
// GetPage does: a nextLink or deltaLink off the client's origin is an
// error matching [m365link.ErrUntrustedLink].
func DecodeTrustedPage[T any, P Item[T]](c *Client, body []byte) (*Page[T], error) {
	page, err := DecodePage[T, P](body)
	if err != nil {
		return nil, err
	}
	for _, l := range [...]string{page.NextLink, page.DeltaLink} {
		if l == "" {
			continue
		}
		if _, err := c.checkLink(l); err != nil {
			return nil, err
		}
	}
	return page, nil
}

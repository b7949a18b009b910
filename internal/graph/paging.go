package graph

import (
	"context"
	"fmt"
	"iter"
	"net/http"
)

// GetPage fetches one page of a collection (the first, from req.Path and
// req.Query, or a later one, from req.URL set to a nextLink or deltaLink)
// and decodes it with [DecodePage]. A truncated or garbled page is
// refetched within the retry policy. A page whose nextLink or deltaLink is
// not on the client's origin is refused whole, not retried, with an error
// matching [m365link.ErrUntrustedLink] that names the foreign origin only:
// a caller that saved that link would be wedged on it.
func GetPage[T any, P Item[T]](ctx context.Context, c *Client, req *Request) (*Page[T], error) {
	var page *Page[T]
	err := c.call(ctx, req, func(resp *http.Response) error {
		return readJSON(resp, c.maxBody, func(b []byte) error {
			p, err := DecodePage[T, P](b)
			page = p
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	for _, l := range [...]struct{ name, link string }{{"nextLink", page.NextLink}, {"deltaLink", page.DeltaLink}} {
		if l.link == "" {
			continue
		}
		if _, err := c.checkLink(l.link); err != nil {
			return nil, fmt.Errorf("%w (a page's %s)", err, l.name)
		}
	}
	return page, nil
}

// Next returns the request for the page after p, or nil when p is the last
// page (it carries a deltaLink, or no link at all). The follow-up keeps req's
// headers (Prefer must be re-sent on every page), mailbox and token, and
// drops its query: the link carries it.
func Next[T any](req *Request, p *Page[T]) *Request {
	if p.NextLink == "" {
		return nil
	}
	next := *req
	next.Path, next.Query, next.URL = "", nil, p.NextLink
	return &next
}

// Pages iterates over the pages of a collection or one delta round starting
// at req, following nextLinks until a page with a deltaLink (or without a
// nextLink). It stops at the first error, which it yields. A page with a
// link outside the client's origin is not yielded: it ends the iteration
// with [m365link.ErrUntrustedLink], as [GetPage] does.
// Callers that checkpoint between pages (the sync engine) use [GetPage] and
// [Next] directly.
func Pages[T any, P Item[T]](ctx context.Context, c *Client, req *Request) iter.Seq2[*Page[T], error] {
	return func(yield func(*Page[T], error) bool) {
		for r := req; r != nil; {
			p, err := GetPage[T, P](ctx, c, r)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(p, nil) {
				return
			}
			r = Next(r, p)
		}
	}
}

// All reads every page of a plain collection — its "value" and
// "@odata.nextLink" — from req on, decoded with encoding/json, following
// nextLinks on the client's origin only (a foreign one is
// [m365link.ErrUntrustedLink]). The follow-ups keep req's headers,
// mailbox, token and observer.
func All[T any](ctx context.Context, c *Client, req *Request) ([]T, error) {
	var out []T
	for r := req; r != nil; {
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := c.JSON(ctx, r, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		if page.NextLink == "" {
			break
		}
		next := *r
		next.Path, next.Query, next.URL = "", nil, page.NextLink
		r = &next
	}
	return out, nil
}

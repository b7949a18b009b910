package graph

import (
	"context"
	"iter"
	"net/http"
)

// GetPage fetches one page of a collection (the first, from req.Path and
// req.Query, or a later one, from req.URL set to a nextLink or deltaLink)
// and decodes it with [DecodePage]. A truncated or garbled page is
// refetched within the retry policy.
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
// nextLink). It stops at the first error, which it yields. Links outside the
// client's origin end the iteration with [m365link.ErrUntrustedLink].
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

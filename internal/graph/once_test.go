package graph

import (
	"io"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

func TestOnceIsNeverRetriedButStillThrottles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{},
			step{status: 503, hdr: map[string]string{"Retry-After": "7"}},
			step{status: 202})
		err := c.JSON(t.Context(), &Request{Method: "POST", Path: "/users/u1/messages/m1/send", Mailbox: "u1", Token: tok, Once: true}, nil)
		var ge *m365link.GraphError
		require.ErrorAs(t, err, &ge)
		assert.Equal(t, 503, ge.StatusCode)
		assert.Equal(t, 1, s.count())
		assert.False(t, c.Limiter().ThrottledUntil("u1").IsZero(), "the 503's Retry-After still holds the mailbox")
	})
}

func TestExternalLinkCarriesNoCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{}, step{status: 200, body: `{"nextExpectedRanges":["5"]}`})
		const link = "https://outlook.example/api/v2.0/Users('u1')/Messages('m1')/AttachmentSessions('s1')?authtoken=secret-upload-token"

		err := c.JSON(t.Context(), &Request{Method: "PUT", URL: link, External: true, Token: tok, Mailbox: "u1"}, nil)
		require.ErrorIs(t, err, m365link.ErrUntrustedLink)
		assert.NotContains(t, err.Error(), "secret-upload-token")
		err = c.JSON(t.Context(), &Request{Method: "PUT", URL: "http://outlook.example/x?authtoken=secret-upload-token", External: true, Mailbox: "u1"}, nil)
		require.ErrorIs(t, err, m365link.ErrUntrustedLink)
		assert.NotContains(t, err.Error(), "secret-upload-token")
		err = c.JSON(t.Context(), &Request{Method: "GET", URL: link, Mailbox: "u1"}, nil)
		require.ErrorIs(t, err, m365link.ErrUntrustedLink, "without External the origin rule holds")
		assert.Equal(t, 0, s.count())

		var out struct {
			NextExpectedRanges []string `json:"nextExpectedRanges"`
		}
		require.NoError(t, c.JSON(t.Context(), &Request{Method: "PUT", URL: link, External: true, Mailbox: "u1",
			Body: []byte("hello"), Header: map[string][]string{"Content-Type": {"application/octet-stream"}, "Content-Range": {"bytes 0-4/10"}}}, &out))
		assert.Equal(t, []string{"5"}, out.NextExpectedRanges)
		require.Equal(t, 1, s.count())
		r := s.reqs[0]
		assert.Equal(t, link, r.URL.String())
		assert.Equal(t, "", r.Header.Get("Authorization"))
		assert.Equal(t, "application/octet-stream", r.Header.Get("Content-Type"))
		assert.Equal(t, "bytes 0-4/10", r.Header.Get("Content-Range"))
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		assert.Equal(t, "hello", string(b))
	})
}

package graph

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A delegated user's /me requests (graphsdk's, say) are paced as the
// user's mailbox: a throttle of that mailbox holds them, and paths that
// only look alike are not.
func TestHTTPClientAsPacesMeAsTheUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(okBody)), Request: r}, nil
		})
		c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: rt}})
		require.NoError(t, err)
		c.Limiter().Throttle("u1", time.Now().Add(5*time.Second))
		get := func(hc *http.Client, url string) time.Duration {
			start := time.Now()
			resp, err := hc.Get(url)
			require.NoError(t, err)
			resp.Body.Close()
			return time.Since(start)
		}
		as := c.HTTPClientAs("U1")
		assert.Equal(t, time.Duration(0), get(as, "https://graph.example/v1.0/meetings"), "not /me")
		assert.Equal(t, time.Duration(0), get(as, "https://graph.example/v1.0/organization"))
		assert.Equal(t, time.Duration(0), get(c.HTTPClient(), "https://graph.example/v1.0/me/messages"), "no user given")
		assert.Equal(t, 5*time.Second, get(as, "https://graph.example/v1.0/me/messages"))
		c.Limiter().Throttle("u1", time.Now().Add(time.Second))
		assert.Equal(t, time.Second, get(as, "https://graph.example/v1.0/ME"))
	})
}

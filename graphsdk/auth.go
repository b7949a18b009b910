package graphsdk

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	absauth "github.com/microsoft/kiota-abstractions-go/authentication"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
)

// tokenProvider is the SDK's access token provider over a library token
// source. It gives tokens for the client's Graph origin only, and refuses
// any other with an error: the SDK's Azure provider silently sends no
// token to a host it does not trust, which reads later as a baffling 401.
type tokenProvider struct {
	src    graphclient.TokenSource
	origin string // scheme://host[:port] of Graph, lower-cased
	hosts  *absauth.AllowedHostsValidator
}

func newTokenProvider(src graphclient.TokenSource, graphBase string) *tokenProvider {
	u, _ := url.Parse(graphBase) // graph.New validated it
	hosts := absauth.NewAllowedHostsValidator([]string{u.Host})
	return &tokenProvider{src: src, origin: origin(u), hosts: &hosts}
}

// GetAuthorizationToken returns the access token for a request to u.
func (p *tokenProvider) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if o := origin(u); o != p.origin {
		return "", fmt.Errorf("graphsdk: %w: no token is sent to %s", m365link.ErrUntrustedLink, o)
	}
	tok, err := p.src.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("graphsdk: token: %w", err)
	}
	if tok == nil || tok.AccessToken == "" {
		// Never send a request without the credential it was meant to carry.
		return "", errNoToken
	}
	return tok.AccessToken, nil
}

// GetAllowedHostsValidator returns the Graph host alone.
func (p *tokenProvider) GetAllowedHostsValidator() *absauth.AllowedHostsValidator { return p.hosts }

var errNoToken = errors.New("graphsdk: token: the token source returned no access token")

// origin returns scheme://host[:port] lower-cased, without a default port.
func origin(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

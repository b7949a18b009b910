package consent

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// idClaims are the ID token claims admin consent relies on.
type idClaims struct {
	Issuer    string          `json:"iss"`
	Audience  json.RawMessage `json:"aud"`
	Tenant    string          `json:"tid"`
	Object    string          `json:"oid"`
	Nonce     string          `json:"nonce"`
	Expires   float64         `json:"exp"`
	NotBefore float64         `json:"nbf"`
	// Roles are the tenant-wide directory roles (template IDs) the token
	// names when the app registration asks for them (groupMembershipClaims
	// DirectoryRole or All); nil when it does not.
	Roles *[]string `json:"wids"`
}

// clockSkew is how far the identity platform's clock may be from ours.
const clockSkew = 5 * time.Minute

// maxDiscoveryBody caps the metadata and key documents read.
const maxDiscoveryBody = 1 << 20

// verifyIDToken checks an ID token the way OpenID Connect asks before
// anything in it is trusted: an RS256 signature by a key the identity
// platform publishes for the token's tenant (discovery metadata, then its
// jwks_uri), this cloud's issuer for that tenant, this app as the
// audience, the validity window, and the attempt's nonce. It returns the
// claims with the tenant ID lower-cased.
func (c *Connector) verifyIDToken(ctx context.Context, raw, nonce string) (idClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return idClaims{}, invalid("the ID token is not a signed JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var cl idClaims
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &cl) != nil {
		return idClaims{}, invalid("the ID token is malformed")
	}
	// Entra ID signs ID tokens with RS256 only; accepting what the token
	// names would let "none" or an HMAC over a public key through.
	if hdr.Alg != "RS256" || hdr.Kid == "" {
		return idClaims{}, invalid(fmt.Sprintf("the ID token is signed with %q, not RS256 under a published key", hdr.Alg))
	}
	cl.Tenant = strings.ToLower(cl.Tenant)
	if !looksLikeTenantID(cl.Tenant) {
		return idClaims{}, invalid("the ID token names no tenant")
	}
	key, err := c.signingKey(ctx, cl.Tenant, hdr.Kid)
	if err != nil {
		return idClaims{}, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
		return idClaims{}, invalid("the ID token's signature does not verify with the identity platform's published keys")
	}
	if cl.Issuer != c.issuer(cl.Tenant) {
		return idClaims{}, &Error{Kind: ErrTenant, Description: "the ID token's issuer " + cl.Issuer + " is not this cloud's for its tenant", Remediation: "Check the cloud the app is configured for"}
	}
	if !audienceIs(cl.Audience, c.cfg.ClientID) {
		return idClaims{}, invalid("the ID token was issued to another app")
	}
	now := c.now()
	if cl.Expires == 0 || !now.Before(time.Unix(int64(cl.Expires), 0).Add(clockSkew)) ||
		now.Add(clockSkew).Before(time.Unix(int64(cl.NotBefore), 0)) {
		return idClaims{}, invalid("the ID token is expired or not yet valid")
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(nonce)) != 1 {
		return idClaims{}, invalid("the ID token's nonce does not match this attempt")
	}
	cl.Object = strings.ToLower(cl.Object)
	return cl, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// audienceIs accepts aud as a string or a one-element array: an ID token
// for more than one audience is not one this app asked for.
func audienceIs(raw json.RawMessage, clientID string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == clientID
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && len(many) == 1 && many[0] == clientID
}

// signingKey fetches tenant's discovery metadata and the key kid from its
// jwks_uri. Admin consent is rare, so the keys are fetched each time rather
// than cached: a rotated key is never missed.
func (c *Connector) signingKey(ctx context.Context, tenant, kid string) (*rsa.PublicKey, error) {
	authority, err := url.Parse(c.authorityHost())
	if err != nil {
		return nil, fmt.Errorf("consent: authority host: %w", err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := c.getJSON(ctx, c.authorityHost()+"/"+url.PathEscape(tenant)+"/v2.0/.well-known/openid-configuration", &meta); err != nil {
		return nil, err
	}
	// The keys must come from the identity platform itself, over https.
	ju, err := url.Parse(meta.JWKSURI)
	if err != nil || ju.Scheme != "https" || !strings.EqualFold(ju.Host, authority.Host) {
		return nil, unavailable(fmt.Sprintf("the identity platform's metadata names keys at %q, not on %s", meta.JWKSURI, authority.Host))
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Use string `json:"use"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := c.getJSON(ctx, ju.String(), &set); err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		if k.Kid != kid || k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			break
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			break
		}
		return pub, nil
	}
	return nil, invalid("the ID token's signing key is not among the identity platform's published keys")
}

// getJSON reads a public document of the identity platform: no
// credentials, no redirects followed, a size cap, the client's timeout.
func (c *Connector) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("consent: fetch the identity platform's keys: %w", ctx.Err())
		}
		return unavailable("the identity platform's signing keys could not be fetched: " + err.Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBody+1))
	switch {
	case err != nil:
		return unavailable("the identity platform's signing keys could not be read: " + err.Error())
	case resp.StatusCode != http.StatusOK:
		return unavailable(fmt.Sprintf("the identity platform answered %d for %s", resp.StatusCode, req.URL.Path))
	case len(body) > maxDiscoveryBody:
		return unavailable("the identity platform's answer for " + req.URL.Path + " is too large")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return unavailable("the identity platform's answer for " + req.URL.Path + " is not JSON")
	}
	return nil
}

func unavailable(desc string) *Error {
	return &Error{Kind: ErrUnavailable, Description: desc, Remediation: "A passing problem at Microsoft. Try again in a minute"}
}

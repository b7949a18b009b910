package idp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"crypto"
)

// Server is a running fake identity platform.
type Server struct {
	ts  *httptest.Server
	key *rsa.PrivateKey
	kid string

	mu       gosync.Mutex
	apps     map[string]*App // by client ID
	users    map[string]*User
	codes    map[string]*codeGrant
	refresh  map[string]*rtState // refresh token -> state
	access   map[string]Claims   // access token -> claims
	atTTL    time.Duration
	failures []Failure
	grants   map[string]int      // grant_type -> count
	lastRT   map[string]string   // user key -> last refresh token presented
	issued   map[string][]string // user key -> refresh tokens issued, in order
	seq      int
	now      func() time.Time

	signIn          *User           // who signs in at the authorize and adminconsent endpoints
	authorizeFail   *Failure        // the next authorize answers this error
	requireConsent  bool            // client credentials need admin consent in the tenant
	idFault         IDTokenFault    // how issued ID tokens are spoiled (zero: not at all)
	consented       map[string]bool // tenant/clientID -> admin consented
	revoked         map[string]bool // tenant/clientID -> the admin removed the app, until consenting again
	disabled        map[string]bool // user key -> sign-in blocked
	mfa             map[string]bool // user key -> multi-factor authentication required
	authorizeHits   int
	adminConsentHit int
}

// App is a registered confidential client.
type App struct {
	ClientID string
	Secret   string
	// RedirectURIs the app registered; auth code redemption checks them.
	RedirectURIs []string
}

// User is a directory user.
type User struct {
	TenantID string
	ID       string // object ID (oid)
	UPN      string
	Name     string
	// Admin may grant tenant-wide consent.
	Admin bool
	// DirectoryRoles, when not nil, are sent in the ID token's "wids"
	// claim (role template IDs), as Entra does for an app whose manifest
	// sets groupMembershipClaims to DirectoryRole or All.
	DirectoryRoles []string
}

func (u *User) key() string { return strings.ToLower(u.TenantID + "/" + u.ID) }

// Claims describe an issued access token.
type Claims struct {
	TenantID string
	UserID   string // "" for app-only tokens
	ClientID string
	Scopes   []string
	Expires  time.Time
}

type codeGrant struct {
	user      *User
	clientID  string
	redirect  string
	challenge string
	scopes    []string
	nonce     string
	used      bool
}

type rtState struct {
	user     *User
	clientID string
	scopes   []string
	// err, when set, is what redeeming this token answers (revoked, expired…).
	err *Failure
}

// Failure is an error answer of the token endpoint.
type Failure struct {
	// Status is the HTTP status; 400 for grant errors, 5xx for outages.
	Status int
	// Error is the OAuth error ("invalid_grant", "interaction_required", …).
	Error string
	// Code is the AADSTS number (700082 …), put in error_codes and the description.
	Code int
	// Description follows "AADSTS<code>: " in error_description.
	Description string
	// GrantType limits the failure to one grant type; "" = any.
	GrantType string
	// Times is how many requests fail; 0 = one.
	Times int
}

// New starts a fake identity platform.
func New() *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	s := &Server{
		key: key, kid: hex.EncodeToString(sum[:8]),
		apps: map[string]*App{}, users: map[string]*User{}, codes: map[string]*codeGrant{},
		refresh: map[string]*rtState{}, access: map[string]Claims{}, grants: map[string]int{},
		lastRT: map[string]string{}, issued: map[string][]string{}, consented: map[string]bool{},
		revoked: map[string]bool{}, disabled: map[string]bool{}, mfa: map[string]bool{},
		atTTL: time.Hour, now: time.Now,
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.ts.Config.ErrorLog = log.New(quietHandshakes{os.Stderr}, "", log.LstdFlags)
	s.ts.StartTLS()
	return s
}

// quietHandshakes drops the server's "TLS handshake error" lines: a
// client's connection still being dialled when a test closes the server
// says nothing about the code under test.
type quietHandshakes struct{ w io.Writer }

func (q quietHandshakes) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("http: TLS handshake error")) {
		return len(p), nil
	}
	return q.w.Write(p)
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// URL is the server's origin, standing in for https://login.microsoftonline.com.
func (s *Server) URL() string { return s.ts.URL }

// Authority returns the authority URL for tenant (a GUID, domain,
// "organizations" or "common").
func (s *Server) Authority(tenant string) string { return s.ts.URL + "/" + tenant }

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Certificate returns the server's TLS certificate, for a client that
// must trust this server and others.
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// PublicKey returns the key ID tokens are signed with.
func (s *Server) PublicKey() (kid string, key *rsa.PublicKey) { return s.kid, &s.key.PublicKey }

// AddApp registers a confidential client.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[a.ClientID] = &a
}

// AddUser adds a user to the directory.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.key()] = &u
}

// SetAccessTokenTTL sets the lifetime of access tokens issued from now on.
func (s *Server) SetAccessTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.atTTL = d
}

// IssueCode returns an authorization code for user, as the authorize
// endpoint would after sign-in. challenge is the PKCE S256 challenge ("" for none).
func (s *Server) IssueCode(clientID, tenantID, userID, redirectURI, challenge, nonce string, scopes []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[strings.ToLower(tenantID+"/"+userID)]
	if u == nil {
		panic("idp: IssueCode for unknown user " + tenantID + "/" + userID)
	}
	s.seq++
	code := fmt.Sprintf("code-%d-%s", s.seq, randHex(8))
	s.codes[code] = &codeGrant{user: u, clientID: clientID, redirect: redirectURI, challenge: challenge, scopes: scopes, nonce: nonce}
	return code
}

// FailNext makes the next f.Times (default 1) matching token requests fail with f.
func (s *Server) FailNext(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.failures = append(s.failures, f)
}

// BreakGrant makes every refresh token of the user answer f from now on
// (revocation, expiry after inactivity, password change, MFA required…),
// as Entra ID does until the user signs in again.
func (s *Server) BreakGrant(tenantID, userID string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(tenantID + "/" + userID)
	for _, st := range s.refresh {
		if st.user.key() == k {
			ff := f
			st.err = &ff
		}
	}
}

// Grants returns how many token requests of grant type g succeeded or
// failed at the endpoint ("refresh_token", "authorization_code",
// "client_credentials"); "" sums all.
func (s *Server) Grants(g string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g == "" {
		n := 0
		for _, v := range s.grants {
			n += v
		}
		return n
	}
	return s.grants[g]
}

// LastRefreshTokenUsed returns the refresh token the user's last refresh
// grant presented.
func (s *Server) LastRefreshTokenUsed(tenantID, userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRT[strings.ToLower(tenantID+"/"+userID)]
}

// RefreshTokensIssued lists the user's refresh tokens in issue order.
func (s *Server) RefreshTokensIssued(tenantID, userID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued[strings.ToLower(tenantID+"/"+userID)])
}

// Validate reports the claims of an access token it issued and whether it
// is valid now. The fake Graph uses it to authenticate requests.
func (s *Server) Validate(accessToken string) (Claims, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.access[accessToken]
	if !ok || !s.now().Before(c.Expires) {
		return Claims{}, false
	}
	return c, true
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := parts[0], strings.Join(parts[1:], "/")
	switch {
	case rest == "v2.0/.well-known/openid-configuration":
		s.metadata(w, tenant)
	case rest == "discovery/v2.0/keys":
		s.keys(w)
	case rest == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		s.token(w, r, tenant)
	case rest == "oauth2/v2.0/authorize" && r.Method == http.MethodGet:
		s.interactive(w, r, tenant, &s.authorizeHits, s.authorize)
	case rest == "v2.0/adminconsent" && r.Method == http.MethodGet:
		s.interactive(w, r, tenant, &s.adminConsentHit, s.adminConsent)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) metadata(w http.ResponseWriter, tenant string) {
	issuerTenant := tenant
	if tenant == "common" || tenant == "organizations" || tenant == "consumers" {
		issuerTenant = "{tenantid}"
	}
	writeJSON(w, 200, map[string]any{
		"issuer":                                "https://login.microsoftonline.com/" + issuerTenant + "/v2.0",
		"authorization_endpoint":                s.ts.URL + "/" + tenant + "/oauth2/v2.0/authorize",
		"token_endpoint":                        s.ts.URL + "/" + tenant + "/oauth2/v2.0/token",
		"jwks_uri":                              s.ts.URL + "/" + tenant + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "EU",
	})
}

func (s *Server) keys(w http.ResponseWriter) {
	pub := &s.key.PublicKey
	writeJSON(w, 200, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": s.kid, "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// aadsts is f's error_description as Entra ID words it.
func aadsts(f Failure) string {
	return fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: 2026-11-24 12:00:00Z", f.Code, f.Description, randHex(8), randHex(8))
}

// fail writes an error answer in Entra ID's shape. It touches no server
// state, so handlers call it with s.mu held.
func (s *Server) fail(w http.ResponseWriter, f Failure) {
	desc := f.Description
	if f.Code != 0 {
		desc = aadsts(f)
	}
	status := f.Status
	if status == 0 {
		status = 400
	}
	body := map[string]any{"error": f.Error, "error_description": desc, "timestamp": "2026-11-24 12:00:00Z",
		"trace_id": randHex(16), "correlation_id": randHex(16)}
	if f.Code != 0 {
		body["error_codes"] = []int{f.Code}
	}
	writeJSON(w, status, body)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, Failure{Error: "invalid_request", Code: 900144, Description: "The request body must contain the following parameter: 'grant_type'."})
		return
	}
	f := r.PostForm
	gt := f.Get("grant_type")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[gt]++
	for i := range s.failures {
		ff := &s.failures[i]
		if ff.Times > 0 && (ff.GrantType == "" || ff.GrantType == gt) {
			ff.Times--
			s.fail(w, *ff)
			return
		}
	}
	app := s.apps[f.Get("client_id")]
	if app == nil {
		s.fail(w, Failure{Error: "unauthorized_client", Code: 700016, Description: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", f.Get("client_id"), tenant)})
		return
	}
	if f.Get("client_assertion") == "" && f.Get("client_secret") != app.Secret {
		s.fail(w, Failure{Status: 401, Error: "invalid_client", Code: 7000215, Description: "Invalid client secret provided."})
		return
	}
	switch gt {
	case "authorization_code":
		s.redeemCode(w, f, tenant)
	case "refresh_token":
		s.redeemRefresh(w, f)
	case "client_credentials":
		s.clientCredentials(w, f, tenant)
	default:
		s.fail(w, Failure{Error: "unsupported_grant_type", Code: 70003, Description: "The app requested an unsupported grant type."})
	}
}

func (s *Server) redeemCode(w http.ResponseWriter, f url.Values, tenant string) {
	g := s.codes[f.Get("code")]
	switch {
	case g == nil:
		s.fail(w, Failure{Error: "invalid_grant", Code: 70000, Description: "The provided value for the 'code' parameter is not valid."})
		return
	case g.used:
		s.fail(w, Failure{Error: "invalid_grant", Code: 54005, Description: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."})
		return
	case g.clientID != f.Get("client_id"):
		s.fail(w, Failure{Error: "invalid_grant", Code: 70000, Description: "The code was issued to another client."})
		return
	case g.redirect != f.Get("redirect_uri"):
		s.fail(w, Failure{Error: "invalid_grant", Code: 50148, Description: "The redirect URI does not match the one used to obtain the code."})
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			s.fail(w, Failure{Error: "invalid_grant", Code: 501481, Description: "The Code_Verifier does not match the code_challenge supplied in the authorization request."})
			return
		}
	}
	g.used = true
	s.issueUserTokens(w, g.user, f.Get("client_id"), g.scopes, g.nonce)
}

func (s *Server) redeemRefresh(w http.ResponseWriter, f url.Values) {
	rt := f.Get("refresh_token")
	st := s.refresh[rt]
	if st == nil {
		s.fail(w, Failure{Error: "invalid_grant", Code: 9002313, Description: "Invalid request. Request is malformed or invalid."})
		return
	}
	s.lastRT[st.user.key()] = rt
	if st.err != nil {
		s.fail(w, *st.err)
		return
	}
	if st.clientID != f.Get("client_id") {
		s.fail(w, Failure{Error: "invalid_grant", Code: 70000, Description: "The refresh token was issued to another client."})
		return
	}
	if ff := s.userBlocked(st.user, st.clientID); ff != nil {
		s.fail(w, *ff)
		return
	}
	// Refresh tokens are replaced on every use; the old one stays valid
	// (Entra ID does not revoke it), which is why losing the new one is
	// survivable but must not be relied on.
	s.issueUserTokens(w, st.user, st.clientID, st.scopes, "")
}

func (s *Server) clientCredentials(w http.ResponseWriter, f url.Values, tenant string) {
	k := strings.ToLower(tenant) + "/" + f.Get("client_id")
	if s.revoked[k] || s.requireConsent && !s.consented[k] {
		s.fail(w, Failure{Error: "unauthorized_client", Code: 700016, Description: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", f.Get("client_id"), tenant)})
		return
	}
	// MSAL adds the OpenID scopes to every request; Entra ID ignores them here.
	var scope string
	for _, sc := range strings.Fields(f.Get("scope")) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		if scope != "" {
			scope = "" // more than one resource scope
			break
		}
		scope = sc
	}
	if !strings.HasSuffix(scope, "/.default") {
		s.fail(w, Failure{Error: "invalid_scope", Code: 1002012, Description: fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f.Get("scope"))})
		return
	}
	at := "fake-at-app-" + randHex(16)
	exp := s.now().Add(s.atTTL)
	s.access[at] = Claims{TenantID: tenant, ClientID: f.Get("client_id"), Scopes: []string{scope}, Expires: exp}
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": int(s.atTTL.Seconds()), "ext_expires_in": int(s.atTTL.Seconds()), "access_token": at})
}

func (s *Server) issueUserTokens(w http.ResponseWriter, u *User, clientID string, scopes []string, nonce string) {
	s.seq++
	at := fmt.Sprintf("fake-at-%d-%s", s.seq, randHex(16))
	rt := fmt.Sprintf("fake-rt-%d-%s", s.seq, randHex(16))
	exp := s.now().Add(s.atTTL)
	granted := grantedScopes(scopes)
	s.access[at] = Claims{TenantID: u.TenantID, UserID: u.ID, ClientID: clientID, Scopes: granted, Expires: exp}
	s.refresh[rt] = &rtState{user: u, clientID: clientID, scopes: scopes}
	s.issued[u.key()] = append(s.issued[u.key()], rt)
	clientInfo, _ := json.Marshal(map[string]string{"uid": u.ID, "utid": u.TenantID})
	writeJSON(w, 200, map[string]any{
		"token_type": "Bearer", "scope": strings.Join(granted, " "),
		"expires_in": int(s.atTTL.Seconds()), "ext_expires_in": int(s.atTTL.Seconds()),
		"access_token": at, "refresh_token": rt,
		"id_token":    s.idToken(u, clientID, nonce),
		"client_info": base64.RawURLEncoding.EncodeToString(clientInfo),
	})
}

// grantedScopes drops the OpenID scopes the way Entra ID reports grants.
func grantedScopes(req []string) []string {
	var out []string
	for _, sc := range req {
		for _, f := range strings.Fields(sc) {
			switch f {
			case "openid", "profile", "offline_access", "email":
				continue
			}
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []string{"https://graph.microsoft.com/User.Read"}
	}
	return out
}

func (s *Server) idToken(u *User, clientID, nonce string) string {
	now := s.now()
	f := s.idFault
	claims := map[string]any{
		"aud": clientID, "iss": "https://login.microsoftonline.com/" + u.TenantID + "/v2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"name": u.Name, "oid": u.ID, "preferred_username": u.UPN, "sub": "sub-" + u.ID,
		"tid": u.TenantID, "ver": "2.0",
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if u.DirectoryRoles != nil {
		claims["wids"] = u.DirectoryRoles
	}
	if f.Issuer != "" {
		claims["iss"] = f.Issuer
	}
	if f.Audience != "" {
		claims["aud"] = f.Audience
	}
	if f.TenantID != "" {
		claims["tid"] = f.TenantID
		claims["iss"] = "https://login.microsoftonline.com/" + f.TenantID + "/v2.0"
	}
	if f.Expired {
		claims["iat"], claims["nbf"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	switch {
	case f.Unsigned:
		h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": s.kid})
		p, _ := json.Marshal(claims)
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
	case f.ForeignKey:
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return signJWT(other, s.kid, claims)
	}
	return signJWT(s.key, s.kid, claims)
}

func (s *Server) signJWT(claims map[string]any) string { return signJWT(s.key, s.kid, claims) }

func signJWT(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	p, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// IDTokenFault spoils the ID tokens the token endpoint issues in one way,
// for tests of a relying party's checks. The zero value spoils nothing.
type IDTokenFault struct {
	// Issuer replaces the iss claim.
	Issuer string
	// Audience replaces the aud claim.
	Audience string
	// TenantID replaces the tid claim (and the tenant in iss, so the
	// token is consistent but names another tenant than the user's).
	TenantID string
	// ForeignKey signs with a key the keys endpoint does not publish,
	// under the published key ID.
	ForeignKey bool
	// Unsigned issues an "alg":"none" token with an empty signature.
	Unsigned bool
	// Expired dates the token two hours back (expired an hour ago).
	Expired bool
}

// SpoilIDTokens makes every ID token issued from now on carry f, until it
// is called again (with the zero value to issue sound tokens).
func (s *Server) SpoilIDTokens(f IDTokenFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idFault = f
}

// SignInAs makes the authorize and adminconsent endpoints behave as if the
// given user signed in (nil: nobody can sign in).
func (s *Server) SignInAs(tenantID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signIn = s.users[strings.ToLower(tenantID+"/"+userID)]
	if s.signIn == nil {
		panic("idp: SignInAs unknown user " + tenantID + "/" + userID)
	}
}

// FailAuthorize makes the next authorize or adminconsent request redirect
// back with f as its error (AADSTS code in the description).
func (s *Server) FailAuthorize(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorizeFail = &f
}

// RequireAdminConsent makes client credentials fail with AADSTS700016 in a
// tenant until an admin consented there, as Entra ID does for an app without
// a service principal in the tenant.
func (s *Server) RequireAdminConsent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requireConsent = true
}

// Consented reports whether an admin of tenantID consented to clientID.
func (s *Server) Consented(tenantID, clientID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consented[strings.ToLower(tenantID)+"/"+clientID]
}

// Hits returns how many authorize and adminconsent requests arrived.
func (s *Server) Hits() (authorize, adminConsent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authorizeHits, s.adminConsentHit
}

// errorPage is what Entra ID shows when it cannot redirect back safely
// (unknown client, unregistered redirect URI).
func errorPage(w http.ResponseWriter, code int, desc string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<html><body>AADSTS%d: %s</body></html>", code, desc)
}

func redirectBack(w http.ResponseWriter, r *http.Request, redirect string, q url.Values) {
	u, _ := url.Parse(redirect)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// interactive serves an authorize or adminconsent request. Under the lock
// it counts the request in hits and checks its client and redirect URI,
// answering with an error page when either is unknown, as Entra ID does
// when it cannot redirect back safely; serve answers the rest.
func (s *Server) interactive(w http.ResponseWriter, r *http.Request, tenant string, hits *int,
	serve func(w http.ResponseWriter, r *http.Request, tenant string, app *App, q url.Values)) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	*hits++
	app := s.apps[q.Get("client_id")]
	if app == nil {
		errorPage(w, 700016, "Application with identifier '"+q.Get("client_id")+"' was not found in the directory.")
		return
	}
	if !slices.Contains(app.RedirectURIs, q.Get("redirect_uri")) {
		errorPage(w, 50011, "The redirect URI '"+q.Get("redirect_uri")+"' specified in the request does not match the redirect URIs configured for the application.")
		return
	}
	serve(w, r, tenant, app, q)
}

// failBack is how an interactive request with a known client fails: a
// redirect back carrying the error with the values in back, described by
// describe.
func failBack(w http.ResponseWriter, r *http.Request, q, back url.Values, describe func(Failure) string) func(Failure) {
	return func(f Failure) {
		back.Set("error", f.Error)
		back.Set("error_description", describe(f))
		redirectBack(w, r, q.Get("redirect_uri"), back)
	}
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request, tenant string, app *App, q url.Values) {
	back := url.Values{"state": {q.Get("state")}}
	fail := failBack(w, r, q, back, aadsts)
	switch {
	case s.authorizeFail != nil:
		f := *s.authorizeFail
		s.authorizeFail = nil
		fail(f)
		return
	case q.Get("response_type") != "code":
		fail(Failure{Error: "unsupported_response_type", Code: 700054, Description: "response_type 'id_token' is not enabled for the application."})
		return
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		fail(Failure{Error: "invalid_request", Code: 501491, Description: "Invalid size of Code_Challenge parameter or unsupported method."})
		return
	case s.signIn == nil:
		fail(Failure{Error: "login_required", Code: 50058, Description: "A silent sign-in request was sent but no user is signed in."})
		return
	}
	u := s.signIn
	generic := tenant == "organizations" || tenant == "common" || tenant == "consumers"
	if !generic && !strings.EqualFold(tenant, u.TenantID) {
		fail(Failure{Error: "invalid_request", Code: 50020, Description: "User account from identity provider does not exist in tenant and cannot access the application in that tenant."})
		return
	}
	if !s.signInAllowed(w, u, fail) {
		return
	}
	if s.revoked[strings.ToLower(u.TenantID)+"/"+app.ClientID] && !u.Admin {
		// Only an administrator can add the app back (by consenting).
		f := failConsentRevoked(app.ClientID)
		f.Error = "consent_required"
		fail(f)
		return
	}
	s.seq++
	code := fmt.Sprintf("code-%d-%s", s.seq, randHex(8))
	s.codes[code] = &codeGrant{user: u, clientID: app.ClientID, redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		scopes: strings.Fields(q.Get("scope")), nonce: q.Get("nonce")}
	back.Set("code", code)
	back.Set("session_state", randHex(8))
	redirectBack(w, r, q.Get("redirect_uri"), back)
}

func (s *Server) adminConsent(w http.ResponseWriter, r *http.Request, tenant string, app *App, q url.Values) {
	back := url.Values{"state": {q.Get("state")}, "admin_consent": {"True"}}
	fail := failBack(w, r, q, back, func(f Failure) string {
		return fmt.Sprintf("AADSTS%d: %s Trace ID: %s", f.Code, f.Description, randHex(8))
	})
	switch {
	case tenant == "common" || tenant == "consumers":
		errorPage(w, 90009, "The tenant for the admin consent request cannot be 'common'.")
		return
	case s.authorizeFail != nil:
		f := *s.authorizeFail
		s.authorizeFail = nil
		fail(f)
		return
	case s.signIn == nil:
		fail(Failure{Error: "login_required", Code: 50058, Description: "No user is signed in."})
		return
	case tenant != "organizations" && !strings.EqualFold(tenant, s.signIn.TenantID):
		// A tenant-specific link admits only that tenant's accounts.
		fail(Failure{Error: "invalid_request", Code: 50020, Description: "User account from identity provider does not exist in tenant and cannot access the application in that tenant."})
		return
	case !s.signInAllowed(w, s.signIn, fail):
		return
	case !s.signIn.Admin:
		fail(Failure{Error: "access_denied", Code: 90093, Description: "The signed in user is not authorized to grant consent for this application."})
		return
	}
	tid := strings.ToLower(s.signIn.TenantID)
	s.consented[tid+"/"+app.ClientID] = true
	delete(s.revoked, tid+"/"+app.ClientID)
	back.Set("tenant", tid)
	back.Set("scope", q.Get("scope"))
	redirectBack(w, r, q.Get("redirect_uri"), back)
}

// The refusals of the account switches, worded as Entra ID words them.
var (
	failUserDisabled = Failure{Error: "invalid_grant", Code: 50057, Description: "The user account is disabled."}
	failMFARequired  = Failure{Error: "interaction_required", Code: 50076,
		Description: "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'."}
)

func failConsentRevoked(clientID string) Failure {
	return Failure{Error: "invalid_grant", Code: 65001,
		Description: "The user or administrator has not consented to use the application with ID '" + clientID + "'. Send an interactive authorization request for this user and resource."}
}

// userBlocked is the refusal a refresh for u answers while a switch is
// on, or nil.
func (s *Server) userBlocked(u *User, clientID string) *Failure {
	switch {
	case s.disabled[u.key()]:
		return &failUserDisabled
	case s.mfa[u.key()]:
		return &failMFARequired
	case s.revoked[strings.ToLower(u.TenantID)+"/"+clientID]:
		f := failConsentRevoked(clientID)
		return &f
	}
	return nil
}

// signInAllowed refuses an interactive sign-in of u while a switch is on:
// a disabled account stops at Entra ID's own error page, as it cannot
// redirect anywhere useful; multi-factor authentication, which the fake
// cannot perform, goes back to the app as interaction_required.
func (s *Server) signInAllowed(w http.ResponseWriter, u *User, fail func(Failure)) bool {
	switch {
	case s.disabled[u.key()]:
		errorPage(w, failUserDisabled.Code, failUserDisabled.Description)
		return false
	case s.mfa[u.key()]:
		fail(failMFARequired)
		return false
	}
	return true
}

// RevokeConsent removes the app from a tenant, as an administrator does by
// deleting its enterprise application: client credentials answer
// AADSTS700016, the refresh tokens of the tenant's users invalid_grant
// AADSTS65001, and sign-ins of users who are not administrators
// consent_required AADSTS65001, until an administrator consents again.
// Access tokens already issued stay valid until they expire, as Entra
// ID's do.
func (s *Server) RevokeConsent(tenantID, clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(tenantID) + "/" + clientID
	delete(s.consented, k)
	s.revoked[k] = true
}

// DisableUser blocks (or, with false, unblocks) the user's sign-in, as an
// administrator does in the Entra admin center: while blocked, refresh
// tokens answer invalid_grant AADSTS50057, and the authorize and
// adminconsent pages stop at an error page naming AADSTS50057 instead of
// redirecting back.
func (s *Server) DisableUser(tenantID, userID string, disabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabled[strings.ToLower(tenantID+"/"+userID)] = disabled
}

// RequireMFA makes (or, with false, stops making) Conditional Access ask
// the user for multi-factor authentication, which the fake cannot
// perform: while required, refresh tokens answer interaction_required
// AADSTS50076, and the authorize and adminconsent pages redirect back
// with that error. Turning it off stands for the user having met it.
func (s *Server) RequireMFA(tenantID, userID string, required bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mfa[strings.ToLower(tenantID+"/"+userID)] = required
}

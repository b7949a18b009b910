package consent

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	gosync "sync"
	"time"
)

// Flow says which redirect an attempt belongs to.
type Flow string

// Flows.
const (
	FlowConnect Flow = "connect"
	// FlowAdminSignIn is the administrator's sign-in that precedes admin
	// consent and names the tenant ([Connector.BeginAdminConsent]).
	FlowAdminSignIn  Flow = "admin-sign-in"
	FlowAdminConsent Flow = "admin-consent"
)

// Attempt is one pending connect or admin consent: what its callback must
// match. The library creates attempts; a [StateStore] keeps them.
//
// Its String, GoString, Format and LogValue leave out the ID, binding,
// verifier and nonce. encoding/json keeps every field, as a store may
// need them: log an Attempt itself, never a value that marshals one.
type Attempt struct {
	// ID is random; it is what the state value stands for.
	ID   string
	Flow Flow
	// Binding is a hash of the host's session (and the browser cookie
	// the handler sets): a callback from another session does not match.
	Binding string
	// Tenant is the authority tenant the attempt used.
	Tenant string
	// Verifier is the PKCE code verifier; Nonce goes into the ID token.
	// Stores that derive them (see [SignedStates]) leave them out of the state.
	Verifier string
	Nonce    string
	// Subject is the object ID of the administrator whose verified sign-in
	// named Tenant, for an admin-consent attempt that followed one.
	Subject string
	// AdminRole is the template ID of the admin role (one of
	// Config.AdminRoles) Subject held at that sign-in, as Microsoft Graph
	// reported it. An admin-consent attempt with a Subject and no such
	// role is refused.
	AdminRole string
	// ReturnTo is where the host wants the browser afterwards (a relative path).
	ReturnTo string
	Expires  time.Time
}

// ErrStateNotFound: the state is unknown, expired or already used.
var ErrStateNotFound = errors.New("consent: state not found, expired or already used")

// StateStore keeps pending attempts between the redirect to Microsoft and
// the callback. Take must be single-use: a second Take of the same state
// fails, even across processes when the store is shared. Implementations
// must be safe for concurrent use.
//
// Which one a host needs: one process, [MemoryStates] (the default);
// several instances, a store they all reach, the sqlstore package's
// ConsentStates on the host's database, whose Take is one atomic
// DELETE … RETURNING.
// [SignedStates] needs no storage but is single-use per process only.
type StateStore interface {
	// Issue records a and returns the opaque state value for the URL.
	Issue(ctx context.Context, a Attempt) (state string, err error)
	// Take returns the attempt for state and forgets it; ErrStateNotFound
	// when it is unknown, expired or taken already.
	Take(ctx context.Context, state string) (Attempt, error)
}

// MemoryStates is a [StateStore] in process memory: the state value is the
// attempt's random ID. It suits a host that runs one process (or routes a
// browser's callback to the process that began it); a host with several
// instances behind a load balancer needs a store they share, such as the
// sqlstore package's. The zero value is usable.
type MemoryStates struct {
	// Max bounds the attempts kept; zero means DefaultMaxPending. When it
	// is reached, the attempt closest to expiry is dropped (its callback
	// then fails as expired), so a flood of abandoned attempts costs
	// bounded memory and never blocks new ones.
	Max int

	mu gosync.Mutex
	// pending is behind a pointer so that no formatting of the struct
	// reaches the attempts' secrets (see [MemoryStates.String]).
	pending *expiring[Attempt]
	now     func() time.Time
}

// DefaultMaxPending is MemoryStates' default bound on pending attempts.
const DefaultMaxPending = 10000

var _ StateStore = (*MemoryStates)(nil)

// Issue implements [StateStore]. Expired attempts are dropped as they
// come due, in O(log n) each, never by scanning every attempt.
func (m *MemoryStates) Issue(_ context.Context, a Attempt) (string, error) {
	if a.ID == "" {
		return "", errors.New("consent: MemoryStates.Issue: the attempt has no ID")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == nil {
		m.pending = &expiring[Attempt]{}
	}
	m.pending.expire(m.clock())
	limit := m.Max
	if limit <= 0 {
		limit = DefaultMaxPending
	}
	for m.pending.len() >= limit {
		m.pending.dropSoonest()
	}
	m.pending.put(a.ID, a, a.Expires)
	return a.ID, nil
}

// Take implements [StateStore].
func (m *MemoryStates) Take(_ context.Context, state string) (Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == nil {
		return Attempt{}, ErrStateNotFound
	}
	a, _, ok := m.pending.remove(state)
	if !ok || !m.clock().Before(a.Expires) {
		return Attempt{}, ErrStateNotFound
	}
	return a, nil
}

func (m *MemoryStates) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// SignedStates is a stateless [StateStore]: the state value carries the
// attempt, signed with HMAC-SHA256 under the host's key, so any process
// holding the key can check it. The PKCE verifier and the nonce never
// travel in it: they are derived from the key and the attempt ID.
//
// Single use is enforced only within a process, by remembering taken IDs
// until they expire: a callback replayed to another instance within
// StateTTL is accepted there once more. For a user connect the identity
// platform's single-use codes (AADSTS54005) still stop the replay; an
// admin-consent callback carries no code. A host with several instances
// that wants single use everywhere uses a shared store (sqlstore).
type SignedStates struct {
	key *hmacKey
	now func() time.Time

	mu       gosync.Mutex
	taken    *expiring[struct{}]
	maxTaken int
}

// hmacKey holds SignedStates' key behind a pointer, so formatting a
// SignedStates by value prints an address, never key bytes.
type hmacKey struct{ b []byte }

// DefaultMaxTaken bounds the taken states a SignedStates remembers. When
// that many unexpired states were taken, Take fails (with an error other
// than ErrStateNotFound) rather than forget one and accept its replay.
const DefaultMaxTaken = 100000

var _ StateStore = (*SignedStates)(nil)

// NewSignedStates returns a store signing with key (at least 32 random bytes,
// the same in every process).
func NewSignedStates(key []byte) (*SignedStates, error) {
	if len(key) < 32 {
		return nil, errors.New("consent: SignedStates needs a key of at least 32 bytes")
	}
	return &SignedStates{key: &hmacKey{b: append([]byte(nil), key...)}, taken: &expiring[struct{}]{}, maxTaken: DefaultMaxTaken}, nil
}

type signedPayload struct {
	ID        string `json:"i"`
	Flow      Flow   `json:"f"`
	Binding   string `json:"b"`
	Tenant    string `json:"t"`
	Subject   string `json:"s,omitempty"`
	AdminRole string `json:"a,omitempty"`
	ReturnTo  string `json:"r,omitempty"`
	Expires   int64  `json:"e"`
}

// derive computes an attempt's secret (verifier, nonce) from the key.
func (s *SignedStates) derive(id, purpose string) string {
	m := hmac.New(sha256.New, s.key.b)
	m.Write([]byte("m365link/consent/" + purpose + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *SignedStates) sign(b []byte) []byte {
	m := hmac.New(sha256.New, s.key.b)
	m.Write([]byte("m365link/consent/state\x00"))
	m.Write(b)
	return m.Sum(nil)
}

// Issue implements [StateStore].
func (s *SignedStates) Issue(_ context.Context, a Attempt) (string, error) {
	b, err := json.Marshal(signedPayload{ID: a.ID, Flow: a.Flow, Binding: a.Binding, Tenant: a.Tenant, Subject: a.Subject, AdminRole: a.AdminRole,
		ReturnTo: a.ReturnTo, Expires: a.Expires.Unix()})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(s.sign(b)), nil
}

// Take implements [StateStore].
func (s *SignedStates) Take(_ context.Context, state string) (Attempt, error) {
	body, sig, ok := strings.Cut(state, ".")
	if !ok {
		return Attempt{}, ErrStateNotFound
	}
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.sign(b)) {
		return Attempt{}, ErrStateNotFound
	}
	var p signedPayload
	if json.Unmarshal(b, &p) != nil || p.ID == "" {
		return Attempt{}, ErrStateNotFound
	}
	now := time.Now()
	if s.now != nil {
		now = s.now()
	}
	exp := time.Unix(p.Expires, 0)
	if !now.Before(exp) {
		return Attempt{}, ErrStateNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taken.expire(now)
	if _, _, used := s.taken.get(p.ID); used {
		return Attempt{}, ErrStateNotFound
	}
	if s.taken.len() >= s.maxTaken {
		return Attempt{}, errTooManyTaken
	}
	s.taken.put(p.ID, struct{}{}, exp)
	return Attempt{ID: p.ID, Flow: p.Flow, Binding: p.Binding, Tenant: p.Tenant, Subject: p.Subject, AdminRole: p.AdminRole, ReturnTo: p.ReturnTo, Expires: exp,
		Verifier: s.derive(p.ID, "pkce"), Nonce: s.derive(p.ID, "nonce")}, nil
}

var errTooManyTaken = errors.New("consent: SignedStates remembers too many recently taken states; try again later")

// deriver is implemented by stores that derive an attempt's secrets.
type deriver interface {
	derive(id, purpose string) string
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// bindingOf hashes a session so state values and stores never hold it.
func bindingOf(session string) string {
	sum := sha256.Sum256([]byte("m365link/consent/session\x00" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

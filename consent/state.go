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
	FlowConnect      Flow = "connect"
	FlowAdminConsent Flow = "admin-consent"
)

// Attempt is one pending connect or admin consent: what its callback must
// match. The library creates attempts; a [StateStore] keeps them.
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
type StateStore interface {
	// Issue records a and returns the opaque state value for the URL.
	Issue(ctx context.Context, a Attempt) (state string, err error)
	// Take returns the attempt for state and forgets it; ErrStateNotFound
	// when it is unknown, expired or taken already.
	Take(ctx context.Context, state string) (Attempt, error)
}

// MemoryStates is a [StateStore] in process memory: the state value is the
// attempt's random ID. Use it for single-process hosts; a multi-process
// host stores attempts in its database or uses [SignedStates].
type MemoryStates struct {
	mu       gosync.Mutex
	attempts map[string]Attempt
	now      func() time.Time
}

var _ StateStore = (*MemoryStates)(nil)

// Issue implements [StateStore].
func (m *MemoryStates) Issue(_ context.Context, a Attempt) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.attempts == nil {
		m.attempts = map[string]Attempt{}
	}
	now := m.clock()
	for id, old := range m.attempts {
		if !now.Before(old.Expires) {
			delete(m.attempts, id)
		}
	}
	m.attempts[a.ID] = a
	return a.ID, nil
}

// Take implements [StateStore].
func (m *MemoryStates) Take(_ context.Context, state string) (Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.attempts[state]
	delete(m.attempts, state)
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
// travel in it: they are derived from the key and the attempt ID. Single
// use is enforced within a process by remembering taken IDs until they
// expire; across processes the identity platform's own single-use codes
// (AADSTS54005) close the gap.
type SignedStates struct {
	key []byte
	now func() time.Time

	mu    gosync.Mutex
	taken map[string]time.Time
}

var _ StateStore = (*SignedStates)(nil)

// NewSignedStates returns a store signing with key (at least 32 random bytes,
// the same in every process).
func NewSignedStates(key []byte) (*SignedStates, error) {
	if len(key) < 32 {
		return nil, errors.New("consent: SignedStates needs a key of at least 32 bytes")
	}
	return &SignedStates{key: append([]byte(nil), key...), taken: map[string]time.Time{}}, nil
}

// String never shows the key.
func (s *SignedStates) String() string { return "consent.SignedStates{}" }

type signedPayload struct {
	ID       string `json:"i"`
	Flow     Flow   `json:"f"`
	Binding  string `json:"b"`
	Tenant   string `json:"t"`
	ReturnTo string `json:"r,omitempty"`
	Expires  int64  `json:"e"`
}

// derive computes an attempt's secret (verifier, nonce) from the key.
func (s *SignedStates) derive(id, purpose string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("m365link/consent/" + purpose + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *SignedStates) sign(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("m365link/consent/state\x00"))
	m.Write(b)
	return m.Sum(nil)
}

// Issue implements [StateStore].
func (s *SignedStates) Issue(_ context.Context, a Attempt) (string, error) {
	b, err := json.Marshal(signedPayload{ID: a.ID, Flow: a.Flow, Binding: a.Binding, Tenant: a.Tenant, ReturnTo: a.ReturnTo, Expires: a.Expires.Unix()})
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
	for id, until := range s.taken {
		if !now.Before(until) {
			delete(s.taken, id)
		}
	}
	if _, used := s.taken[p.ID]; used {
		return Attempt{}, ErrStateNotFound
	}
	s.taken[p.ID] = exp
	return Attempt{ID: p.ID, Flow: p.Flow, Binding: p.Binding, Tenant: p.Tenant, ReturnTo: p.ReturnTo, Expires: exp,
		Verifier: s.derive(p.ID, "pkce"), Nonce: s.derive(p.ID, "nonce")}, nil
}

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

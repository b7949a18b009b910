package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"github.com/m365link/m365link/consent"
)

// ConsentStates is a [consent.StateStore] in the {prefix}_consent_states
// table, from [Store.ConsentStates], for hosts that run several instances:
// every instance reads and consumes pending attempts in the one table, so
// a callback consumed by one is refused by all (consent.MemoryStates and
// consent.SignedStates enforce single use per process only).
//
// Take is one statement, DELETE … RETURNING, so of two instances consuming
// the same state at once exactly one gets the attempt. Rows are keyed by
// a SHA-256 of the state value, so the table never holds a usable state.
// An attempt's PKCE verifier and nonce are stored with it for at most its
// lifetime (consent.Config.StateTTL, 10 minutes by default): expired rows
// are deleted when met, and in bulk by [ConsentStates.Purge], which Issue
// runs at most once a minute.
type ConsentStates struct {
	s *Store

	mu         gosync.Mutex
	lastPurged time.Time

	qInsert, qTake, qPurge string
}

var _ consent.StateStore = (*ConsentStates)(nil)

// purgeEvery is how often Issue deletes expired rows.
const purgeEvery = time.Minute

func newConsentStates(s *Store) *ConsentStates {
	table, p := s.t.consentStates, s.d.param
	return &ConsentStates{
		s:       s,
		qInsert: "INSERT INTO " + table + " (state_hash, data, expires_at) VALUES (" + p(1) + ", " + p(2) + ", " + p(3) + ")",
		// One statement: the row is gone for everyone the moment one
		// caller gets it.
		qTake:  "DELETE FROM " + table + " WHERE state_hash = " + p(1) + " RETURNING data, expires_at",
		qPurge: "DELETE FROM " + table + " WHERE expires_at <= " + p(1),
	}
}

// attemptV1 is the stored form of an attempt (format 1): the library's own
// field names, so renaming a field of consent.Attempt cannot break rows.
// The ID is the state value itself, so it is not stored: Take has it.
// AdminRole came after format 1's first release; a row without it reads as
// an attempt without a proven role, which admin consent refuses, so the
// format stays 1.
type attemptV1 struct {
	Flow      consent.Flow `json:"f"`
	Binding   string       `json:"b"`
	Tenant    string       `json:"t"`
	Verifier  string       `json:"v,omitempty"`
	Nonce     string       `json:"n,omitempty"`
	Subject   string       `json:"s,omitempty"`
	AdminRole string       `json:"a,omitempty"`
	ReturnTo  string       `json:"r,omitempty"`
	Expires   int64        `json:"e"` // Unix milliseconds
}

const attemptFormatV1 = 1

func encodeAttempt(a consent.Attempt) ([]byte, error) {
	b, err := json.Marshal(attemptV1{Flow: a.Flow, Binding: a.Binding, Tenant: a.Tenant, Verifier: a.Verifier,
		Nonce: a.Nonce, Subject: a.Subject, AdminRole: a.AdminRole, ReturnTo: a.ReturnTo, Expires: a.Expires.UnixMilli()})
	if err != nil {
		return nil, err
	}
	return append([]byte{attemptFormatV1}, b...), nil
}

func decodeAttempt(state string, data []byte) (consent.Attempt, error) {
	if len(data) == 0 || data[0] != attemptFormatV1 {
		return consent.Attempt{}, errors.New("sqlstore: stored consent attempt in an unknown format")
	}
	var v attemptV1
	if err := json.Unmarshal(data[1:], &v); err != nil {
		return consent.Attempt{}, fmt.Errorf("sqlstore: stored consent attempt: %w", err)
	}
	return consent.Attempt{ID: state, Flow: v.Flow, Binding: v.Binding, Tenant: v.Tenant, Verifier: v.Verifier, Nonce: v.Nonce,
		Subject: v.Subject, AdminRole: v.AdminRole, ReturnTo: v.ReturnTo, Expires: time.UnixMilli(v.Expires)}, nil
}

// hashState is the row key for a state value. The domain string is the
// one consent/consentsql used, so rows it wrote are found.
func hashState(state string) string {
	sum := sha256.Sum256([]byte("m365link/consentsql/state\x00" + state))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Issue implements [consent.StateStore]: the state value is the attempt's
// random ID, stored only as a hash.
func (c *ConsentStates) Issue(ctx context.Context, a consent.Attempt) (string, error) {
	if len(a.ID) < 16 {
		return "", errors.New("sqlstore: Issue needs an attempt with a random ID")
	}
	if err := c.s.Migrate(ctx); err != nil {
		return "", err
	}
	if c.purgeDue() {
		if _, err := c.Purge(ctx); err != nil {
			return "", err
		}
	}
	data, err := encodeAttempt(a)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode consent attempt: %w", err)
	}
	if _, err := c.s.db.ExecContext(ctx, c.qInsert, hashState(a.ID), data, a.Expires.UnixMilli()); err != nil {
		return "", fmt.Errorf("sqlstore: save consent attempt: %w", err)
	}
	return a.ID, nil
}

// Take implements [consent.StateStore]: it deletes the attempt and returns
// it in one statement, so a state is consumed once across every process
// sharing the table. An expired attempt is deleted and not returned.
func (c *ConsentStates) Take(ctx context.Context, state string) (consent.Attempt, error) {
	if state == "" {
		return consent.Attempt{}, consent.ErrStateNotFound
	}
	if err := c.s.Migrate(ctx); err != nil {
		return consent.Attempt{}, err
	}
	var data []byte
	var expires int64
	err := c.s.db.QueryRowContext(ctx, c.qTake, hashState(state)).Scan(&data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Attempt{}, consent.ErrStateNotFound
	}
	if err != nil {
		return consent.Attempt{}, fmt.Errorf("sqlstore: take consent attempt: %w", err)
	}
	if !time.Now().Before(time.UnixMilli(expires)) {
		return consent.Attempt{}, consent.ErrStateNotFound
	}
	return decodeAttempt(state, data)
}

// Purge deletes every expired attempt and returns how many there were.
func (c *ConsentStates) Purge(ctx context.Context) (int64, error) {
	if err := c.s.Migrate(ctx); err != nil {
		return 0, err
	}
	res, err := c.s.db.ExecContext(ctx, c.qPurge, time.Now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge expired consent attempts: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge expired consent attempts: %w", err)
	}
	return n, nil
}

func (c *ConsentStates) purgeDue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.lastPurged) < purgeEvery {
		return false
	}
	c.lastPurged = now
	return true
}

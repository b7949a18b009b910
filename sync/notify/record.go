package notify

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/m365link/m365link"
)

// The manager's records in the host's StateStore, under the mailbox's key
// (m365link.Mailbox.Key), next to the sync engine's: one per watched
// resource under "n:" + the resource, and the pending marker under
// "n:pending". The engine uses "" and "f:"; "n:" is this package's. Both
// are JSON with a version; an empty value is no record (the StateStore
// has no delete of one key).

const (
	recordVersion  = 1
	pendingVersion = 1
	pendingKey     = "n:pending"
)

func recordKey(r Resource) string { return "n:" + string(r) }

// record is what the manager knows of one subscription.
type record struct {
	V int `json:"v"`
	// Mailbox is whose subscription it is, with its UPN for the Target.
	Mailbox m365link.Mailbox `json:"mailbox"`
	// Resource is the Graph resource path the subscription was made for.
	Resource string `json:"resource"`
	// ID is Graph's subscription ID; empty while Creating.
	ID string `json:"id,omitempty"`
	// ClientState is the subscription's secret: Graph echoes it in every
	// notification, and the handler accepts only notifications that carry
	// it. It is chosen, and saved here, before the subscription is created.
	ClientState string `json:"clientState"`
	// Expires is the expirationDateTime Graph granted.
	Expires time.Time `json:"expires,omitzero"`
	// Creating is set, before POST /subscriptions, to when the create
	// began: a crash after the POST leaves a subscription Graph holds but
	// this record does not name. The next reconciliation finds it in GET
	// /subscriptions by its resource, URL and ClientState, and adopts it.
	Creating time.Time `json:"creating,omitzero"`
	// At is when the record was saved: a subscription made after the
	// manager read GET /subscriptions is not judged gone for missing there.
	At time.Time `json:"at"`
}

// pending says a mailbox has notifications the Target may not have acted
// on yet (see Manager).
type pending struct {
	V int `json:"v"`
	// At is when the latest notification was accepted.
	At time.Time `json:"at"`
}

// clientStatePrefix marks the clientState of this package's subscriptions,
// so that one no record claims (its record was lost) is recognised as ours.
const clientStatePrefix = "m365n1."

func newClientState() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return clientStatePrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func (m *Manager) loadRecord(ctx context.Context, mailboxKey string, r Resource) (record, error) {
	var rec record
	b, err := m.cfg.State.Load(ctx, mailboxKey, recordKey(r))
	if err != nil {
		return rec, fmt.Errorf("load subscription record: %w", err)
	}
	if len(b) == 0 {
		return rec, nil
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		// An unreadable record loses only the subscription's ID: the
		// sweep deletes the subscription it named (ours, unclaimed) and
		// a new one is made.
		m.log.Warn("notify: unreadable subscription record; it is made again", "mailbox", mailboxKey, "resource", string(r), "error", err.Error())
		return record{}, nil
	}
	if rec.V > recordVersion {
		return rec, fmt.Errorf("subscription record format %d is newer than this package's (%d)", rec.V, recordVersion)
	}
	return rec, nil
}

func (m *Manager) saveRecord(ctx context.Context, r Resource, rec record) error {
	rec.V, rec.At = recordVersion, time.Now().UTC()
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := m.cfg.State.Save(ctx, rec.Mailbox.Key(), recordKey(r), b); err != nil {
		return fmt.Errorf("save subscription record: %w", err)
	}
	return nil
}

func (m *Manager) loadPending(ctx context.Context, mailboxKey string) (pending, error) {
	var p pending
	b, err := m.cfg.State.Load(ctx, mailboxKey, pendingKey)
	if err != nil || len(b) == 0 {
		return p, err
	}
	if json.Unmarshal(b, &p) != nil || p.V > pendingVersion {
		// Unreadable: treat it as a notification now, which costs one pass.
		return pending{V: pendingVersion, At: time.Now()}, nil
	}
	return p, nil
}

func (m *Manager) savePending(ctx context.Context, mailboxKey string, at time.Time) error {
	b, _ := json.Marshal(pending{V: pendingVersion, At: at.UTC()})
	return m.cfg.State.Save(ctx, mailboxKey, pendingKey, b)
}

package m365link_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/sqlstore"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/tokens"
)

// Mistaken configurations are refused when they are made, each with one
// error that names every problem and what is allowed.
func TestMistakenConfigsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() error
		want string
	}{
		{"sync: nothing set", func() error { _, err := m365sync.New(m365sync.Config{}); return err },
			"sync: invalid Config: TenantID is required (the tenant whose mailboxes sync); Tokens is required (a token source per mailbox); " +
				"a sink is required: Sink (mail), Calendar.Sink or Contacts.Sink; State is required (MemoryState, sqlstore's SyncState or the host's own StateStore)"},
		{"sync: negative window", func() error {
			_, err := m365sync.New(m365sync.Config{TenantID: "t", Tokens: func(m365link.Mailbox) m365sync.TokenSource { return nil },
				Sink: &m365sync.MemorySink{}, State: &m365sync.MemoryState{}, Window: m365sync.Window{Days: -1}})
			return err
		}, "sync: invalid Config: Window.Days is -1; it must be 0 (everything) or positive"},
		{"tokens: nothing set", func() error { _, err := tokens.NewManager(tokens.Config{}); return err },
			"tokens: Config.ClientID is empty (the app registration's application ID); Config.Credential is empty (ClientSecret or ClientCertificate); " +
				"Config.Store is nil (Memory, sqlstore's Tokens or the host's own, ideally wrapped by NewEncrypted)"},
		{"tokens: zero encryption key", func() error { _, err := tokens.NewKeyRing(1, make([]byte, 32)); return err },
			"tokens: key 1 is all zero bytes, not a random key (use crypto/rand or a KMS data key)"},
		{"tokens: short encryption key", func() error { _, err := tokens.NewKeyRing(1, []byte("secret")); return err },
			"tokens: key 1 is 6 bytes; AES-256 needs 32"},
		{"consent: nothing set", func() error { _, err := consent.New(consent.Config{}); return err },
			"consent: Config.ClientID is empty; Config.RedirectURI is empty; Config.Tokens is nil"},
		{"sqlstore: no database", func() error { _, err := sqlstore.New(nil, sqlstore.SQLite, nil); return err },
			"sqlstore: no database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.EqualError(t, tc.make(), tc.want)
		})
	}
}

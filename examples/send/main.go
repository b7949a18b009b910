// Command send sends one mail to a vendor from a Microsoft 365 mailbox with
// package mailsend, safely retried: the message carries an idempotency key,
// so running the command again (after a timeout, a crash, or by mistake)
// sends nothing more and prints the message that already went out.
//
//	M365LINK_TENANT_ID=… M365LINK_CLIENT_ID=… M365LINK_CLIENT_SECRET=… \
//	go run ./examples/send -from alice@contoso.com -to ann@acme.example \
//	    -subject "PO 4711" -body "Please confirm the delivery date."
//
// Configuration, by environment variable and flag:
//
//	M365LINK_TENANT_ID      the tenant (app-only access: application permission Mail.Send)
//	M365LINK_CLIENT_ID      the app registration's application (client) ID
//	M365LINK_CLIENT_SECRET  a client secret of it
//	M365LINK_CLOUD          global (default), usgov-l4, usgov-l5 or china
//	M365LINK_MAILBOX        -from: the mailbox to send from (UPN or user ID)
//	-to, -subject, -body    the message; -html sends the body as HTML
//	-key                    the idempotency key (default: a digest of the message)
//
// With -fake it sends on the in-process fake tenant of package m365linktest
// and prints what the fake's Graph delivered.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/mailsend"
	"github.com/m365link/m365link/tokens"
)

// request is one message to send.
type request struct {
	From, To, Subject, Body, Key string
	HTML                         bool
}

// key returns the idempotency key: the one given, or a digest of the
// message, so the same command line never sends twice.
func (r request) key() string {
	if r.Key != "" {
		return r.Key
	}
	h := sha256.Sum256([]byte(strings.Join([]string{r.From, r.To, r.Subject, r.Body}, "\x00")))
	return "send-example/" + hex.EncodeToString(h[:12])
}

func main() {
	var r request
	flag.StringVar(&r.From, "from", os.Getenv("M365LINK_MAILBOX"), "mailbox to send from (default $M365LINK_MAILBOX)")
	flag.StringVar(&r.To, "to", "", "recipient address; several separated by commas")
	flag.StringVar(&r.Subject, "subject", "", "subject")
	flag.StringVar(&r.Body, "body", "", "body")
	flag.BoolVar(&r.HTML, "html", false, "the body is HTML")
	flag.StringVar(&r.Key, "key", "", "idempotency key (default: a digest of the message)")
	fake := flag.Bool("fake", false, "send on an in-process fake tenant")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var (
		gc  *graphclient.Client
		tok mailsend.TokenSource
	)
	if *fake {
		t := m365linktest.Start()
		defer t.Close()
		t.Generate(m365linktest.Spec{Mailboxes: 2, Vendors: 2, Seed: 1})
		gc, tok = t.Graph(), t.AppToken()
		if r.From == "" {
			r.From = "alice@contoso.com"
		}
		if r.To == "" {
			r.To = "ann@acme.example"
		}
		if r.Subject == "" {
			r.Subject, r.Body = "PO 4711", "Please confirm the delivery date."
		}
		defer func() {
			for _, m := range t.SentMail() {
				fmt.Printf("fake Graph delivered: %q from %s to %s\n", m.Subject, m.From.Address, m.To[0].Address)
			}
		}()
	} else {
		var err error
		if gc, tok, err = fromEnv(os.Getenv); err != nil {
			log.Fatal(err)
		}
	}
	if err := send(ctx, gc, tok, r, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// fromEnv makes the Graph client and the app-only token of the tenant the
// environment names.
func fromEnv(getenv func(string) string) (*graphclient.Client, mailsend.TokenSource, error) {
	tenant, clientID, secret := getenv("M365LINK_TENANT_ID"), getenv("M365LINK_CLIENT_ID"), getenv("M365LINK_CLIENT_SECRET")
	if tenant == "" || clientID == "" || secret == "" {
		return nil, nil, errors.New("set M365LINK_TENANT_ID, M365LINK_CLIENT_ID and M365LINK_CLIENT_SECRET (or run with -fake)")
	}
	cloud, ok := m365link.CloudNamed(getenv("M365LINK_CLOUD"))
	if !ok {
		return nil, nil, fmt.Errorf("M365LINK_CLOUD=%q: want global, usgov-l4, usgov-l5 or china", getenv("M365LINK_CLOUD"))
	}
	cred, err := tokens.ClientSecret(secret)
	if err != nil {
		return nil, nil, err
	}
	mgr, err := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: cred, Cloud: cloud, Store: &tokens.Memory{}})
	if err != nil {
		return nil, nil, err
	}
	gc, err := graphclient.New(graphclient.Config{Cloud: cloud})
	if err != nil {
		return nil, nil, err
	}
	return gc, mgr.Source(m365link.Account{TenantID: tenant}), nil
}

// send sends r and prints what a host would keep of it.
func send(ctx context.Context, gc *graphclient.Client, tok mailsend.TokenSource, r request, out io.Writer) error {
	if r.From == "" || r.To == "" || r.Subject == "" {
		return errors.New("-from, -to and -subject are required")
	}
	sender, err := mailsend.New(mailsend.Config{Client: gc})
	if err != nil {
		return err
	}
	msg := &mailsend.Message{Subject: r.Subject, Body: r.Body, BodyType: mailsend.Text, IdempotencyKey: r.key()}
	if r.HTML {
		msg.BodyType = mailsend.HTML
	}
	for _, a := range strings.Split(r.To, ",") {
		if a = strings.TrimSpace(a); a != "" {
			msg.To = append(msg.To, m365link.EmailAddress{Address: a})
		}
	}
	sent, err := sender.Send(ctx, tok, r.From, msg)
	if err != nil {
		var me *mailsend.Error
		if errors.As(err, &me) {
			return fmt.Errorf("not sent: %w", err)
		}
		return err
	}
	verb := "sent"
	if sent.Replayed {
		verb = "already sent earlier with this key; nothing sent now"
	}
	fmt.Fprintf(out, "%s: %q from %s to %s\n  key:             %s\n  Message-ID:      %s\n  conversation ID: %s\n", verb, r.Subject, r.From, r.To,
		msg.IdempotencyKey, sent.InternetMessageID, sent.ConversationID)
	return nil
}

// Command m365link is the operator's tool for an m365link deployment: what an
// administrator runs on day one to see whether the Entra app registration is
// set up right, and later to sync a few mailboxes by hand and read where each
// mailbox stands.
//
//	go install github.com/m365link/m365link/cmd/m365link@latest
//
//	m365link permissions --features mail,calendar      # what to grant, and why
//	m365link consent-url --tenant <tenant-id>           # the admin-consent link
//	m365link test-connection                            # token, users, one mailbox
//	m365link sync-once --db sync.db --html report.html  # one pass into SQLite
//	m365link status --db sync.db                        # per-mailbox state
//
// A real tenant is configured by environment variables (M365LINK_TENANT_ID,
// M365LINK_CLIENT_ID, M365LINK_CLIENT_SECRET, M365LINK_CLOUD,
// M365LINK_REDIRECT_URI, M365LINK_MAILBOX, M365LINK_DB); every subcommand
// also runs offline against an in-process fake tenant with --fake:
//
//	go run ./cmd/m365link --fake sync-once
//
// Every subcommand takes --help. Exit status: 0 on success, 1 when the work
// failed (a connection test with a failed check included), 2 for bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// cli is one invocation: where output goes, the environment, and the
// global flags.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	fake           bool
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(c *cli, ctx context.Context, args []string) error
}

var commands = []command{
	{"permissions", "the Graph permissions the chosen features need, as a table or JSON", (*cli).permissions},
	{"consent-url", "the admin-consent link for a tenant", (*cli).consentURL},
	{"test-connection", "test the app-only connection to a tenant, each check with its remediation", (*cli).testConnection},
	{"sync-once", "one sync pass over selected mailboxes into SQLite, with a summary and a vendor activity table", (*cli).syncOnce},
	{"status", "each mailbox's sync state, from the SQLite state store", (*cli).status},
}

// errUsage marks an error in the command line (exit status 2); the flag
// package has printed it already.
var errUsage = errors.New("usage")

// errFailed is a failure already reported on the output (exit status 1).
var errFailed = errors.New("failed")

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `m365link: the operator's command for m365link (Microsoft 365 mail and calendar for vendor records).

Usage:
  m365link [--fake] <command> [flags]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-16s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprint(w, `
Global flags:
  --fake   run against an in-process fake tenant (no network, no credentials)

Run "m365link <command> --help" for a command's flags.

`+envHelp)
}

// run is main without the process: it parses args, runs a subcommand and
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	fs := flag.NewFlagSet("m365link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.fake, "fake", false, "run against an in-process fake tenant")
	fs.Usage = func() { c.usage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(stdout)
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		c.usage(stderr)
		return 2
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		if len(rest) == 0 {
			c.usage(stdout)
			return 0
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, cmd := range commands {
		if cmd.name != name {
			continue
		}
		err := cmd.run(c, ctx, rest)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.Is(err, errFailed):
			return 1
		default:
			fmt.Fprintf(stderr, "m365link %s: %v\n", name, err)
			return 1
		}
	}
	names := make([]string, len(commands))
	for i, cmd := range commands {
		names[i] = cmd.name
	}
	sort.Strings(names)
	fmt.Fprintf(stderr, "m365link: unknown command %q (commands: %s)\n", name, strings.Join(names, ", "))
	return 2
}

// flags returns a subcommand's flag set: --help prints its usage on
// stdout, and --fake is accepted after the subcommand too.
func (c *cli) flags(name, args, about string, withEnv bool) *flag.FlagSet {
	fs := flag.NewFlagSet("m365link "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.BoolVar(&c.fake, "fake", c.fake, "run against an in-process fake tenant")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: m365link [--fake] %s %s\n\n%s\n\nFlags:\n", name, args, about)
		fs.PrintDefaults()
		if withEnv {
			fmt.Fprint(w, "\n"+envHelp)
		}
	}
	return fs
}

// parse parses a subcommand's flags; --help prints the usage on stdout.
func (c *cli) parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(c.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(c.stdout)
		fs.Usage()
		return flag.ErrHelp
	case err != nil:
		fmt.Fprintf(c.stderr, "%v\n", err)
		fs.Usage()
		return errUsage
	case fs.NArg() > 0:
		fmt.Fprintf(c.stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	return nil
}

// Package hosttest is how a host application tests its Microsoft 365
// integration offline: its test (hosttest_test.go) imports only the
// library's public packages, m365linktest among them, and runs admin
// consent, a user's connect, tokens, sync and vendor matching against a
// fake tenant, through a throttle and a sync reset, into the host's own
// store. Copy it as the start of your own.
package hosttest

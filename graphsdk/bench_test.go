package graphsdk_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/graphsdk"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// The side-by-side benchmark syncs one Inbox of n messages from a
// generator, as sync's benchmarks do (sync/bench_test.go; the generator is
// copied here because test code is not importable): a Graph stand-in in a
// child process (this test binary again, see TestGeneratorProcess) that
// serves delta pages made from 1,000 real messages rendered by fakegraph,
// with fresh IDs, gzipped like Graph's. In its own process its CPU and
// heap do not count against the client's.

const genUser = "3f1a3e0c-6a1e-4c1b-9d36-5f2b7f0e2a11"

// generator renders the pages of a synthetic folder of n messages.
type generator struct {
	n int
	// Each template message split around its ID's last 10 characters,
	// which become the message's index.
	pre, post [][]byte
}

// noopSink accepts everything and keeps nothing.
type noopSink struct{}

func (noopSink) Apply(context.Context, *m365sync.Page) error            { return nil }
func (noopSink) Reset(context.Context, m365sync.Reset) error            { return nil }
func (noopSink) MailboxRemoved(context.Context, m365link.Mailbox) error { return nil }

type staticToken struct{}

func (staticToken) Token(context.Context) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "bench", TokenType: "Bearer"}, nil
}

// newGenerator takes 1,000 messages as fakegraph renders them for a delta
// page with the engine's $select.
func newGenerator(tb testing.TB, n int) *generator {
	fg := fakegraph.New()
	defer fg.Close()
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 2100, Vendors: 20, Seed: 11})
	rec := &firstPage{base: fg.Client().Transport}
	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "fake", GraphBase: fg.URL(), GraphResource: fg.Origin()},
		HTTPClient: &http.Client{Transport: rec}})
	require.NoError(tb, err)
	e, err := m365sync.New(m365sync.Config{Client: gc, TenantID: seed.Tenants[0].Tenant.ID,
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} }, Sink: noopSink{}, State: &m365sync.MemoryState{},
		Folders: []m365sync.FolderSpec{{WellKnown: "inbox"}}})
	require.NoError(tb, err)
	u := seed.Mailboxes[0].User
	require.NoError(tb, e.SyncOnce(context.Background(), m365link.Mailbox{TenantID: u.TenantID, UserID: u.ID}))
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	require.NoError(tb, json.Unmarshal(rec.body, &page))
	require.Len(tb, page.Value, 1000)
	g := &generator{n: n}
	for _, raw := range page.Value {
		var m struct{ ID string }
		require.NoError(tb, json.Unmarshal(raw, &m))
		at := bytes.Index(raw, []byte(`"`+m.ID+`"`)) + 1 + len(m.ID) - 10
		g.pre = append(g.pre, raw[:at])
		g.post = append(g.post, raw[at+10:])
	}
	return g
}

// firstPage keeps the body of the first delta page a client fetched.
type firstPage struct {
	base http.RoundTripper
	body []byte
}

func (f *firstPage) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(req)
	if err != nil || f.body != nil || !strings.Contains(req.URL.Path, "/delta") {
		return resp, err
	}
	f.body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(f.body))
	return resp, err
}

// page renders messages [from, from+size) and the link that follows.
func (g *generator) page(origin string, from, size int) []byte {
	to := min(g.n, from+size)
	var b bytes.Buffer
	b.Grow((to - from) * 1100)
	b.WriteString(`{"@odata.context":"` + origin + `/v1.0/$metadata#Collection(message)","value":[`)
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		t := i % len(g.pre)
		b.Write(g.pre[t])
		fmt.Fprintf(&b, "%010d", i)
		b.Write(g.post[t])
	}
	base := origin + "/v1.0/users('" + genUser + "')/mailFolders('inbox-id')/messages/delta()"
	if to < g.n {
		fmt.Fprintf(&b, `],"@odata.nextLink":"%s?$skiptoken=%d"}`, base, to)
	} else {
		fmt.Fprintf(&b, `],"@odata.deltaLink":"%s?$deltatoken=%d"}`, base, g.n)
	}
	return b.Bytes()
}

func (g *generator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := "http://" + r.Host
	var body []byte
	switch p := strings.ToLower(r.URL.Path); {
	case strings.HasSuffix(p, "/mailfolders/inbox"):
		body = fmt.Appendf(nil, `{"id":"inbox-id","displayName":"Inbox","totalItemCount":%d,"childFolderCount":0}`, g.n)
	case strings.Contains(p, "/messages/delta"):
		size := 10
		for _, v := range r.Header.Values("Prefer") {
			for _, pref := range strings.Split(v, ",") {
				if s, ok := strings.CutPrefix(strings.TrimSpace(pref), "odata.maxpagesize="); ok {
					size, _ = strconv.Atoi(s)
				}
			}
		}
		q := r.URL.Query()
		switch {
		case q.Has("$deltatoken"):
			body = g.page(origin, g.n, 0)
		default:
			from, _ := strconv.Atoi(q.Get("$skiptoken"))
			body = g.page(origin, from, min(size, 1000))
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		zw.Write(body)
		zw.Close()
		return
	}
	w.Write(body)
}

// TestGeneratorProcess is the generator's child process; it does nothing
// in a normal test run.
func TestGeneratorProcess(t *testing.T) {
	dir := os.Getenv("M365LINK_GENERATOR")
	if dir == "" {
		t.Skip("the benchmark's Graph stand-in; runs only as its child process")
	}
	var g generator
	raw, err := os.ReadFile(filepath.Join(dir, "template.json"))
	if err != nil {
		panic(err)
	}
	var tpl struct {
		N         int
		Pre, Post [][]byte
	}
	if err := json.Unmarshal(raw, &tpl); err != nil {
		panic(err)
	}
	g.n, g.pre, g.post = tpl.N, tpl.Pre, tpl.Post
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the parent closes stdin to stop us
		os.Exit(0)
	}()
	_ = http.Serve(ln, &g)
}

// startGenerator runs g in a child process and returns its Graph base URL.
func startGenerator(tb testing.TB, g *generator) string {
	dir := tb.TempDir()
	raw, err := json.Marshal(struct {
		N         int
		Pre, Post [][]byte
	}{g.n, g.pre, g.post})
	require.NoError(tb, err)
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "template.json"), raw, 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^TestGeneratorProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "M365LINK_GENERATOR="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(tb, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	cmd.Stderr = os.Stderr
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(tb, err)
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	require.True(tb, ok, line)
	go io.Copy(io.Discard, stdout)
	return "http://" + addr + "/v1.0"
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cost is what one sub-benchmark measured per message.
type cost struct{ cpu, allocs, bytes float64 }

// measure runs pass b.N times, checks it saw n messages each time and
// reports per message the client's CPU (this process: the generator runs
// in another), allocations and bytes allocated.
func measure(b *testing.B, n int, pass func() int) cost {
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	for b.Loop() {
		if got := pass(); got != n {
			b.Fatalf("synced %d of %d messages", got, n)
		}
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	msgs := float64(n) * float64(b.N)
	c := cost{cpu: float64(cpu.Nanoseconds()) / msgs, allocs: float64(ms1.Mallocs-ms0.Mallocs) / msgs,
		bytes: float64(ms1.TotalAlloc-ms0.TotalAlloc) / msgs}
	b.ReportMetric(c.cpu, "cpu-ns/msg")
	b.ReportMetric(c.allocs, "allocs/msg")
	b.ReportMetric(c.bytes, "B/msg")
	b.ReportMetric(msgs/cpu.Seconds(), "msgs/cpu-s")
	return c
}

// sdkTokens is the developer's token provider: one static token.
type sdkTokens struct{}

func (sdkTokens) GetAuthorizationToken(context.Context, *url.URL, map[string]any) (string, error) {
	return "bench", nil
}

func (sdkTokens) GetAllowedHostsValidator() *absauth.AllowedHostsValidator {
	v := absauth.NewAllowedHostsValidator(nil)
	return &v
}

// sdkDelta is the loop a developer writes with the SDK: the delta request
// builders, following nextLink with WithUrl, asking for 1,000 a page on
// every request (the page size is per request), counting the messages and
// the removals. It returns the messages seen.
func sdkDelta(ctx context.Context, client *msgraphsdk.GraphServiceClient) (int, error) {
	headers := graphsdk.PageSizeHeaders(1000)
	cfg := &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration{Headers: headers}
	builder := client.Users().ByUserId(genUser).MailFolders().ByMailFolderId("inbox").Messages().Delta()
	resp, err := builder.GetAsDeltaGetResponse(ctx, cfg)
	n := 0
	for err == nil {
		for _, m := range resp.GetValue() {
			if _, removed := m.GetAdditionalData()["@removed"]; !removed && m.GetId() != nil {
				n++
			}
		}
		next := resp.GetOdataNextLink()
		if next == nil {
			return n, nil
		}
		resp, err = builder.WithUrl(*next).GetAsDeltaGetResponse(ctx, cfg)
	}
	return n, err
}

// BenchmarkSideBySide is the same initial sync of an Inbox of
// M365LINK_BENCH_MESSAGES messages (20,000 without it), 1,000 a page,
// gzipped, from the generator over loopback:
//   - engine: the m365link sync engine into a no-op sink (the limiter,
//     tolerant decoding, checkpoints in a MemoryState);
//   - sdk: the loop a developer writes with msgraph-sdk-go's delta request
//     builders on its default client ([sdkDelta]);
//   - graphsdk: the same loop on a client from graphsdk.New (the library's
//     transport and limiter under the SDK);
//   - floor: the same requests, each body read and discarded.
//
// It reports per message the client's CPU, allocations and bytes, and logs
// the ratios engine/sdk and engine/floor of this run (-v shows the log):
//
//	go test -run '^$' -bench SideBySide -benchmem -benchtime 3x -v ./graphsdk/
func BenchmarkSideBySide(b *testing.B) {
	n := 20_000
	if v := os.Getenv("M365LINK_BENCH_MESSAGES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	base := startGenerator(b, newGenerator(b, n))
	ctx := context.Background()
	mailbox := m365link.Mailbox{TenantID: "bench", UserID: genUser}
	cloud := m365link.Cloud{Name: "generator", GraphBase: base}
	var engine, sdk, floor cost

	b.Run("engine", func(b *testing.B) {
		engine = measure(b, n, func() int {
			gc, err := graphclient.New(graphclient.Config{Cloud: cloud})
			require.NoError(b, err)
			e, err := m365sync.New(m365sync.Config{TenantID: "bench", Client: gc,
				Tokens: func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} },
				Sink:   noopSink{}, State: &m365sync.MemoryState{}, Folders: []m365sync.FolderSpec{{WellKnown: "inbox"}}})
			require.NoError(b, err)
			require.NoError(b, e.SyncOnce(ctx, mailbox))
			return int(e.Counters().Items)
		})
	})
	b.Run("sdk", func(b *testing.B) {
		adapter, err := msgraphsdk.NewGraphRequestAdapter(absauth.NewBaseBearerTokenAuthenticationProvider(sdkTokens{}))
		require.NoError(b, err)
		adapter.SetBaseUrl(base)
		client := msgraphsdk.NewGraphServiceClient(adapter)
		sdk = measure(b, n, func() int {
			got, err := sdkDelta(ctx, client)
			require.NoError(b, err)
			return got
		})
	})
	b.Run("graphsdk", func(b *testing.B) {
		gc, err := graphclient.New(graphclient.Config{Cloud: cloud})
		require.NoError(b, err)
		client, err := graphsdk.New(graphsdk.Config{Client: gc, Token: staticToken{}})
		require.NoError(b, err)
		measure(b, n, func() int {
			got, err := sdkDelta(ctx, client)
			require.NoError(b, err)
			return got
		})
	})
	b.Run("floor", func(b *testing.B) {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		hc := &http.Client{Transport: t}
		get := func(url string) {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			require.NoError(b, err)
			req.Header.Set("Authorization", "Bearer bench")
			req.Header.Set("Prefer", "odata.maxpagesize=1000")
			resp, err := hc.Do(req)
			require.NoError(b, err)
			defer resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode)
			_, err = io.Copy(io.Discard, resp.Body)
			require.NoError(b, err)
		}
		delta := base + "/users('" + genUser + "')/mailFolders('inbox-id')/messages/delta()?$skiptoken="
		floor = measure(b, n, func() int {
			get(base + "/users/" + genUser + "/mailFolders/inbox")
			for from := 0; from < n; from += 1000 {
				get(delta + strconv.Itoa(from))
			}
			return n
		})
	})
	if engine.cpu > 0 && sdk.cpu > 0 && floor.cpu > 0 {
		b.Logf("per message: engine %.0f ns CPU, %.1f allocs, %.0f B; sdk %.0f ns, %.1f allocs, %.0f B; floor %.0f ns, %.1f allocs, %.0f B",
			engine.cpu, engine.allocs, engine.bytes, sdk.cpu, sdk.allocs, sdk.bytes, floor.cpu, floor.allocs, floor.bytes)
		b.Logf("engine/sdk: CPU %.3f (the SDK %.1f× the engine), allocs %.3f, bytes %.3f; engine/floor: CPU %.2f, allocs %.2f, bytes %.2f",
			engine.cpu/sdk.cpu, sdk.cpu/engine.cpu, engine.allocs/sdk.allocs, engine.bytes/sdk.bytes,
			engine.cpu/floor.cpu, engine.allocs/floor.allocs, engine.bytes/floor.bytes)
	}
}

package sync_test

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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// The benchmarks sync one Inbox of n messages from a generator: a Graph
// stand-in that runs in a child process (this test binary again, see
// TestGeneratorProcess) and serves delta pages made from 1,000 real
// messages rendered by fakegraph, with fresh IDs, gzipped like Graph's.
// It holds nothing per message, so a million cost it no memory, and in its
// own process its CPU and heap do not count against the engine's.

// noopSink accepts everything and keeps nothing.
type noopSink struct{}

func (noopSink) Apply(context.Context, *m365sync.Page) error            { return nil }
func (noopSink) Reset(context.Context, m365sync.Reset) error            { return nil }
func (noopSink) MailboxRemoved(context.Context, m365link.Mailbox) error { return nil }

const genUser = "3f1a3e0c-6a1e-4c1b-9d36-5f2b7f0e2a11"

// generator renders the pages of a synthetic folder of n messages.
type generator struct {
	n int
	// Each template message split around its ID's last 10 characters,
	// which become the message's index.
	pre, post [][]byte
}

// newGenerator takes 1,000 messages as fakegraph renders them for a delta
// page with the default $select.
func newGenerator(tb testing.TB, n int) *generator {
	fg := fakegraph.New()
	defer fg.Close()
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 2100, Vendors: 20, Seed: 11})
	rec := &firstPage{base: fg.Client().Transport}
	gc, err := graphclient.New(graphclient.Config{Cloud: fakeCloud(fg), HTTPClient: &http.Client{Transport: rec}})
	require.NoError(tb, err)
	cfg := m365sync.Config{Client: gc, TenantID: seed.Tenants[0].Tenant.ID,
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} }, Sink: noopSink{}, State: &m365sync.MemoryState{},
		Folders: []m365sync.FolderSpec{{WellKnown: "inbox"}}}
	e, err := m365sync.New(cfg)
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

// drifted returns the generator with every fifth template message drifted
// the ways Graph's payloads do (so about 20% of the items of every page):
// booleans as strings in any case or as "0", keys in other casing,
// timestamps with seven fractional digits and no offset, null where a list
// or an object belongs.
func (g *generator) drifted() *generator {
	d := &generator{n: g.n, pre: append([][]byte(nil), g.pre...), post: append([][]byte(nil), g.post...)}
	for t := 0; t < len(d.pre); t += 5 {
		d.pre[t], d.post[t] = drift(d.pre[t]), drift(d.post[t])
	}
	return d
}

var (
	driftWords = strings.NewReplacer(
		`"isRead":true`, `"IsRead":"True"`, `"isRead":false`, `"IsRead":"false"`,
		`"hasAttachments":true`, `"hasAttachments":"TRUE"`, `"hasAttachments":false`, `"hasAttachments":"False"`,
		`"isDraft":false`, `"isDraft":"0"`, `"importance":"normal"`, `"Importance":"normal"`,
		`"replyTo":[]`, `"replyTo":null`, `"categories":[]`, `"Categories":null`,
		`"from":{"emailAddress"`, `"From":{"EmailAddress"`)
	driftReceived = regexp.MustCompile(`"receivedDateTime":"([0-9:T-]{19})Z"`)
	driftSent     = regexp.MustCompile(`"sentDateTime":"([0-9:T-]{19})Z"`)
)

func drift(b []byte) []byte {
	b = driftReceived.ReplaceAll(b, []byte(`"ReceivedDateTime":"${1}.0000000"`))
	b = driftSent.ReplaceAll(b, []byte(`"sentDateTime":"${1}.1234567Z"`))
	return []byte(driftWords.Replace(string(b)))
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
		t.Skip("the benchmarks' Graph stand-in; runs only as their child process")
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
	n := g.n
	dir := tb.TempDir()
	raw, err := json.Marshal(struct {
		N         int
		Pre, Post [][]byte
	}{n, g.pre, g.post})
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

func genConfig(base string, sink m365sync.Sink) m365sync.Config {
	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "generator", GraphBase: base}})
	if err != nil {
		panic(err)
	}
	return m365sync.Config{TenantID: "bench", Client: gc,
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} },
		Sink:   sink, State: &m365sync.MemoryState{}, Folders: []m365sync.FolderSpec{{WellKnown: "inbox"}}}
}

var genMailbox = m365link.Mailbox{TenantID: "bench", UserID: genUser}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInitialSync100k syncs an Inbox of 100,000 messages into a
// no-op sink, 1,000 a page, through the engine and the real HTTP stack
// (the limiter, checkpoints in a MemoryState): with tidy pages, with pages
// where every fifth item drifts (see generator.drifted), and, as the floor,
// fetching the same requests' bytes and discarding them. Each is run with
// gzip as Graph sends it and without (gunzip costs about a third of the
// client's CPU). It reports messages per second of wall time and per
// second of this process's CPU (the generator runs in another),
// allocations and bytes per message, and the requests sent against the
// minimum (pages + 1 for the folder lookup); then it logs the ratios of
// client CPU of this run: drifted/tidy and tidy/floor.
//
//	go test -run '^$' -bench InitialSync100k -benchmem -count 5 ./sync/
func BenchmarkInitialSync100k(b *testing.B) {
	const n = 100_000
	g := newGenerator(b, n)
	tidy, drifted := startGenerator(b, g), startGenerator(b, g.drifted())
	for _, enc := range []struct {
		name string
		hc   func() *http.Client // nil: the engine's default client
	}{
		{"gzip", nil},
		{"identity", func() *http.Client {
			return &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}}
		}},
	} {
		client := func() *http.Client {
			if enc.hc == nil {
				return nil
			}
			return enc.hc()
		}
		// With -count, each sub-benchmark runs count times in a row: the
		// ratios are of the means over them.
		var tidyCPU, driftedCPU, floorCPU meanCPU
		b.Run(enc.name+"/tidy", func(b *testing.B) { tidyCPU.add(benchmarkSync(b, tidy, n, client())) })
		b.Run(enc.name+"/drifted", func(b *testing.B) { driftedCPU.add(benchmarkSync(b, drifted, n, client())) })
		b.Run(enc.name+"/floor", func(b *testing.B) { floorCPU.add(benchmarkFloor(b, tidy, n, client())) })
		if tidyCPU.n > 0 && driftedCPU.n > 0 && floorCPU.n > 0 {
			b.Logf("%s: mean client CPU per sync: tidy %v, drifted %v, floor %v; drifted/tidy %.2f×, tidy/floor %.2f×",
				enc.name, tidyCPU.mean(), driftedCPU.mean(), floorCPU.mean(),
				driftedCPU.mean().Seconds()/tidyCPU.mean().Seconds(), tidyCPU.mean().Seconds()/floorCPU.mean().Seconds())
		}
	}
}

// meanCPU averages the client CPU of a sub-benchmark's runs.
type meanCPU struct {
	sum time.Duration
	n   int
}

func (m *meanCPU) add(d time.Duration) { m.sum += d; m.n++ }

func (m *meanCPU) mean() time.Duration { return (m.sum / time.Duration(m.n)).Round(time.Millisecond) }

// benchmarkSync runs the initial sync b.N times with hc (nil: the engine's
// default client, which asks for gzip as Graph's clients do) and returns
// the client CPU per sync.
func benchmarkSync(b *testing.B, base string, n int, hc *http.Client) time.Duration {
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	var c m365sync.Counters
	for b.Loop() {
		cfg := genConfig(base, noopSink{})
		if hc != nil {
			gc, err := graphclient.New(graphclient.Config{Cloud: cfg.Client.Cloud(), HTTPClient: hc})
			require.NoError(b, err)
			cfg.Client = gc
		}
		e, err := m365sync.New(cfg)
		require.NoError(b, err)
		if err := e.SyncOnce(context.Background(), genMailbox); err != nil {
			b.Fatal(err)
		}
		if c = e.Counters(); c.Items != int64(n) {
			b.Fatalf("synced %d of %d", c.Items, n)
		}
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	msgs := float64(n) * float64(b.N)
	b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(msgs/cpu.Seconds(), "msgs/cpu-s")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "client-cpu-ms/op")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/msgs, "allocs/msg")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/msgs, "B/msg")
	b.ReportMetric(float64(c.Requests), "requests")
	b.ReportMetric(float64(c.Pages+1), "min-requests")
	return cpu / time.Duration(b.N)
}

// benchmarkFloor sends the requests an initial sync of the generator's
// folder sends (the folder lookup, then every page, asking for 1,000 a
// page) with hc (nil: a client like the engine's default) and reads and
// discards the bodies: what the bytes alone cost. It returns the client
// CPU per pass.
func benchmarkFloor(b *testing.B, base string, n int, hc *http.Client) time.Duration {
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		hc = &http.Client{Transport: t}
	}
	get := func(url string) int64 {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(b, err)
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("Prefer", "odata.maxpagesize=1000")
		resp, err := hc.Do(req)
		require.NoError(b, err)
		defer resp.Body.Close()
		require.Equal(b, http.StatusOK, resp.StatusCode)
		got, err := io.Copy(io.Discard, resp.Body)
		require.NoError(b, err)
		return got
	}
	folder := base + "/users/" + genUser + "/mailFolders/inbox"
	delta := base + "/users('" + genUser + "')/mailFolders('inbox-id')/messages/delta()?$skiptoken="
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	var read int64
	for b.Loop() {
		read = get(folder)
		for from := 0; from < n; from += 1000 {
			read += get(delta + strconv.Itoa(from))
		}
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	msgs := float64(n) * float64(b.N)
	b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(msgs/cpu.Seconds(), "msgs/cpu-s")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "client-cpu-ms/op")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/msgs, "allocs/msg")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/msgs, "B/msg")
	b.ReportMetric(float64(read)/float64(n), "body-B/msg")
	return cpu / time.Duration(b.N)
}

// leanMessage is what encoding/json decodes in the parse-only benchmark:
// the fields the engine hands a sink.
type leanMessage struct {
	ID                string `json:"id"`
	ChangeKey         string `json:"changeKey"`
	ParentFolderID    string `json:"parentFolderId"`
	InternetMessageID string `json:"internetMessageId"`
	ConversationID    string `json:"conversationId"`
	Subject           string `json:"subject"`
	BodyPreview       string `json:"bodyPreview"`
	From, Sender      struct {
		EmailAddress struct{ Name, Address string } `json:"emailAddress"`
	}
	ToRecipients, CcRecipients, BccRecipients, ReplyTo []struct {
		EmailAddress struct{ Name, Address string } `json:"emailAddress"`
	}
	ReceivedDateTime, SentDateTime, LastModifiedDateTime time.Time
	IsRead, IsDraft, HasAttachments                      bool
	Importance                                           string
	Categories                                           []string
	WebLink                                              string                   `json:"webLink"`
	Removed                                              *struct{ Reason string } `json:"@removed"`
}

// BenchmarkParseOnly100k decodes the same 100 pages with encoding/json
// into lean structs, in memory: the parse-only limit PERFORMANCE.md
// compares the engine with (msgs/s here is per CPU-second: one goroutine).
//
//	go test -run '^$' -bench ParseOnly100k -benchmem -count 5 ./sync/
func BenchmarkParseOnly100k(b *testing.B) {
	const n = 100_000
	g := newGenerator(b, n)
	var pages [][]byte
	for from := 0; from < n; from += 1000 {
		pages = append(pages, g.page("http://127.0.0.1:1", from, 1000))
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		got := 0
		for _, body := range pages {
			var p struct {
				Value    []leanMessage `json:"value"`
				NextLink string        `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
			got += len(p.Value)
		}
		if got != n {
			b.Fatalf("decoded %d of %d", got, n)
		}
	}
	runtime.ReadMemStats(&ms1)
	msgs := float64(n) * float64(b.N)
	b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/msgs, "allocs/msg")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/msgs, "B/msg")
}

// TestHeapDoesNotGrowWithMailboxSize syncs an Inbox of
// M365LINK_HEAP_MESSAGES messages (5,000 without it) from the generator
// and samples the heap as it goes: the peak of HeapInuse (garbage
// included), and the live heap after a collection at every tenth of the
// way, which must stay flat. PERFORMANCE.md's figure is for a million:
//
//	M365LINK_HEAP_MESSAGES=1000000 go test -run HeapDoesNotGrow -v ./sync/
func TestHeapDoesNotGrowWithMailboxSize(t *testing.T) {
	n := 5_000
	if v := os.Getenv("M365LINK_HEAP_MESSAGES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	base := startGenerator(t, newGenerator(t, n))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	startLive := ms.HeapAlloc
	var peakInuse uint64
	var live []uint64
	pages, every := 0, max(1, n/1000/10)
	cfg := genConfig(base, noopSink{})
	cfg.OnProgress = func(s m365sync.Status) {
		runtime.ReadMemStats(&ms)
		peakInuse = max(peakInuse, ms.HeapInuse)
		if s.Pages > pages {
			pages = s.Pages
			if pages%every == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				live = append(live, ms.HeapAlloc)
			}
		}
	}
	e, err := m365sync.New(cfg)
	require.NoError(t, err)
	t0, cpu0 := time.Now(), cpuTime()
	require.NoError(t, e.SyncOnce(context.Background(), genMailbox))
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	c := e.Counters()
	require.Equal(t, int64(n), c.Items)
	require.NotEmpty(t, live)
	growth := int64(live[len(live)-1]) - int64(live[0])
	t.Logf("%d messages in %d pages, %d requests (minimum %d), %.1fs wall, %.1fs client CPU (%.0f msgs/cpu-s)",
		n, c.Pages, c.Requests, c.Pages+1, wall.Seconds(), cpu.Seconds(), float64(n)/cpu.Seconds())
	t.Logf("heap: live before %.1f MB; live at each tenth %v MB; growth first→last tenth %+.2f MB; peak HeapInuse %.1f MB",
		mb(startLive), mbs(live), float64(growth)/(1<<20), mb(peakInuse))
	require.Less(t, peakInuse, uint64(64<<20), "peak heap under 64 MB")
	require.Less(t, growth, int64(4<<20), "the live heap does not grow with the mailbox")
	require.Equal(t, c.Pages+1, c.Requests, "no wasted requests")
}

func mb(v uint64) float64 { return float64(v) / (1 << 20) }

func mbs(vs []uint64) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strconv.FormatFloat(mb(v), 'f', 1, 64)
	}
	return out
}

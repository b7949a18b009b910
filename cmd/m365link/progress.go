package main

import (
	"fmt"
	"io"
	"strings"
	gosync "sync"
	"time"

	m365sync "github.com/m365link/m365link/sync"
)

// progress draws one line, redrawn in place: a bar of the items synced out
// of the estimate (which grows as passes start and learn their folders'
// sizes), and the mailboxes done.
type progress struct {
	w     io.Writer
	total int // mailboxes

	mu       gosync.Mutex
	items    map[string]int
	estimate map[string]int
	done     int
	last     time.Time
	width    int
}

func newProgress(w io.Writer, mailboxes int) *progress {
	return &progress{w: w, total: mailboxes, items: map[string]int{}, estimate: map[string]int{}}
}

// Update takes a status from the engine's OnProgress.
func (p *progress) Update(st m365sync.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := st.Mailbox.Key()
	p.items[k] = st.Items
	p.estimate[k] = max(st.Estimate, st.Items)
	if time.Since(p.last) >= 100*time.Millisecond {
		p.draw(false)
	}
}

// MailboxDone counts a mailbox whose pass ended.
func (p *progress) MailboxDone(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.estimate[key] = p.items[key] // what it has is all there was
	p.draw(false)
}

// Finish draws the final line and ends it.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(true)
	fmt.Fprintln(p.w)
}

func (p *progress) draw(final bool) {
	p.last = time.Now()
	items, est := 0, 0
	for k, n := range p.items {
		items += n
		est += p.estimate[k]
	}
	frac := 0.0
	if est > 0 {
		frac = float64(items) / float64(est)
	}
	if final || (p.done == p.total && p.total > 0) {
		frac = 1
	}
	frac = min(frac, 1)
	const width = 30
	n := int(frac * width)
	line := fmt.Sprintf("[%s%s] %3d%%  %s items  %d/%d mailboxes", strings.Repeat("#", n), strings.Repeat(".", width-n), int(frac*100), thousands(items), p.done, p.total)
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// thousands formats n with commas: 12,345.
func thousands[T ~int | ~int64](n T) string {
	s := fmt.Sprint(int64(n))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

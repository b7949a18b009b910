package mailsend

import (
	"strconv"
	"strings"
	"testing"
)

func TestNextStart(t *testing.T) {
	for in, want := range map[string]int64{"0-": 0, "4194304": 4194304, "10-19": 10, " 7 ": 7} {
		got, ok := nextStart([]string{in, "99-"})
		if !ok || got != want {
			t.Errorf("%q: got %d %v, want %d", in, got, ok, want)
		}
	}
	for _, bad := range [][]string{nil, {""}, {"-"}, {"-5"}, {"+5"}, {"5-x"}, {"x"}, {"99999999999999999999"}} {
		if n, ok := nextStart(bad); ok {
			t.Errorf("%q accepted as %d", bad, n)
		}
	}
}

// FuzzNextStart: every form Graph writes for a start n ("n", "n-",
// "n-m") reads back as n; whatever is accepted is the decimal at the
// front of the first range, never negative.
func FuzzNextStart(f *testing.F) {
	f.Add(int64(0), int64(0), "0-")
	f.Add(int64(3932160), int64(20971519), "3932160")
	f.Fuzz(func(t *testing.T, n, m int64, raw string) {
		if n >= 0 {
			s := strconv.FormatInt(n, 10)
			for _, form := range []string{s, s + "-", s + "-" + strconv.FormatInt(max(m, n), 10)} {
				if m < 0 && strings.Count(form, "-") > 1 {
					continue
				}
				got, ok := nextStart([]string{form})
				if !ok || got != n {
					t.Fatalf("%q: got %d %v, want %d", form, got, ok, n)
				}
			}
		}
		got, ok := nextStart([]string{raw})
		if !ok {
			return
		}
		head, _, _ := strings.Cut(strings.TrimSpace(raw), "-")
		if want, err := strconv.ParseInt(head, 10, 64); err != nil || want != got || got < 0 {
			t.Fatalf("%q accepted as %d", raw, got)
		}
	})
}

func TestInsertHTML(t *testing.T) {
	for _, c := range []struct{ doc, own, want string }{
		{"<html><BODY class=x><p>q</p></BODY></html>", "<div>a</div>", "<html><BODY class=x><div>a</div><p>q</p></BODY></html>"},
		{"<p>q</p>", "<div>a</div>", "<div>a</div><p>q</p>"},
		{"<body", "A", "A<body"},
	} {
		if got := insertHTML(c.doc, c.own); got != c.want {
			t.Errorf("insertHTML(%q, %q) = %q, want %q", c.doc, c.own, got, c.want)
		}
	}
}

// FuzzInsertHTML: the host's part goes in whole, once, and taking it out
// again gives the document back; it sits right after the first <body…>
// tag when there is one, else at the front.
func FuzzInsertHTML(f *testing.F) {
	f.Add("<html><body><p>q</p></body></html>", "<div>a</div>")
	f.Add("<BoDy>", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, doc, own string) {
		got := insertHTML(doc, own)
		at := 0
		if i := indexFold(doc, "<body"); i >= 0 {
			if j := strings.IndexByte(doc[i:], '>'); j >= 0 {
				at = i + j + 1
			}
		}
		if got[:at] != doc[:at] || got[at:at+len(own)] != own || got[at+len(own):] != doc[at:] {
			t.Fatalf("insertHTML(%q, %q) = %q", doc, own, got)
		}
		if at > 0 && !strings.Contains(strings.ToLower(doc[:at]), "<body") {
			t.Fatalf("inserted at %d, before any <body tag of %q", at, doc)
		}
	})
}

package vendors

import "fmt"

// SetCompactMin lowers the garbage the arena tolerates before compacting,
// so tests reach compaction with a few vendors. It returns a restore func.
func SetCompactMin(n int) func() {
	old := compactMin
	compactMin = n
	return func() { compactMin = old }
}

// PlainAddress and SlowNormalizeAddress expose NormalizeAddress's fast
// path's test and its general path.
func PlainAddress(s string) bool { return plainAddress(s) > 0 }

func SlowNormalizeAddress(s string) (string, bool) {
	a, ok := parseAddress(s)
	return a.String(), ok
}

// Stats reports the writer's bookkeeping: table size, live and deleted
// entries, live and garbage arena bytes.
func (x *Index) Stats() (table, used, dead, live, garbage int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.state.Load().table), x.used, x.dead, x.live, x.garbage
}

// Registrable is the index of a valid domain's registrable domain, -1 for
// a public suffix (see registrable).
func Registrable(d string) int { return registrable(d) }

// PSLVersion is the version of the public suffix list's copy.
const PSLVersion = pslVersion

// PSLRules returns every node of the copied list as a domain ("uk",
// "co.uk", …): the rules and the labels between them, read from the
// tables on their own, and how many of them pslIndex finds by their
// parent and label.
func PSLRules() ([]string, int) {
	var out []string
	found := 0
	var walk func(lo, hi uint32, parent string)
	walk = func(lo, hi uint32, parent string) {
		for i := lo; i < hi; i++ {
			d := pslLabel(i)
			if f, ok := pslIndexOnce().find(lo, hi, d); ok && f == i {
				found++
			}
			if parent != "" {
				d += "." + parent
			}
			out = append(out, d)
			c := pslChildren(i)
			walk(c&(1<<pslChildrenBitsLo-1), c>>pslChildrenBitsLo&(1<<pslChildrenBitsHi-1), d)
		}
	}
	walk(0, pslNumTLD, "")
	return out, found
}

// PublicSuffix is the index of a valid domain's public suffix (see
// publicSuffix).
func PublicSuffix(d string) int { return publicSuffix(d) }

// IsValidDomain is validDomain: the domains registrable takes.
func IsValidDomain(d string) bool { return validDomain(d) }

// CheckEntries checks every live entry of the table: its tag is its
// key's, a probe for its key reaches it, and its back hint is its
// record's distance from its block's start (255 for one that far or
// further). It returns how many records are that far.
func (x *Index) CheckEntries() (far int, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	st := x.state.Load()
	var buf [2 * maxAddress]byte
	for i := range st.table {
		e := st.table[i].Load()
		if e == 0 || e == tombstone {
			continue
		}
		c, off := st.chunk(uint32(e))
		kind, key := keyAt(c, off, buf[:0])
		h := hashBytes(x.seed, kind, key)
		if !tagged(e, h) {
			return far, fmt.Errorf("entry %d (%q): tag is not its key's", i, key)
		}
		for j := slot(h, len(st.table)); j != i; j = next(j, len(st.table)) {
			if st.table[j].Load() == 0 {
				return far, fmt.Errorf("entry %d (%q): a probe stops at %d before it", i, key, j)
			}
		}
		back, _ := uvarint(c[off+2:]) // 0 for an ID record
		if want := min(back, 255); backHint(e) != want {
			return far, fmt.Errorf("entry %d (%q): back hint %d, record is %d from its block's start", i, key, backHint(e), back)
		}
		if back >= 255 {
			far++
		}
	}
	return far, nil
}

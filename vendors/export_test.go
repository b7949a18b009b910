package vendors

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

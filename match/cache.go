package match

import (
	"strings"
	gosync "sync"
)

// cache keeps answers that repeat, because addresses and domains repeat in
// mail: what the rules say about a domain, which vendors claim a domain,
// what an address's outcome is. Answers that depend on the directory
// belong to one version of it (see vendors.Versioned; 0 for the others):
// the cache starts afresh when the version moves on, and when it is full.
type cache[V any] struct {
	mu      gosync.RWMutex
	version uint64
	m       map[string]*V
}

const cacheSize = 1 << 16

func (c *cache[V]) get(version uint64, key string) *V {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.version != version {
		return nil
	}
	return c.m[key]
}

func (c *cache[V]) put(version uint64, key string, v *V) {
	key = strings.Clone(key) // the cache must not pin the caller's strings
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case version < c.version:
		return // answered before a change that a newer answer already saw
	case version > c.version || c.m == nil || len(c.m) >= cacheSize:
		// Full size at once: growing a big map rehashes it, and a cache
		// that filled up once will again.
		c.version, c.m = version, make(map[string]*V, cacheSize)
	}
	c.m[key] = v
}

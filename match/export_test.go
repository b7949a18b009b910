package match

// CacheSize is how many outcomes a matcher caches.
const CacheSize = cacheSize

package credential

import (
	"fmt"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// maxMargin caps the safety margin: WeChat rotates stable tokens about five
// minutes before they expire.
const maxMargin = 5 * time.Minute

// entry is a credential in the cache, with its life computed on the store's
// clock (see the package documentation).
type entry struct {
	value       string
	obtainedAt  time.Time
	refreshAt   time.Time // past it, a refresh starts in the background
	usableUntil time.Time // past it, the credential is not handed out normally
	expiresAt   time.Time // past it, WeChat no longer accepts it
}

// newEntry computes the life of c, obtained at the instant its request was
// sent (so that the network's delay shortens the life instead of extending
// it).
func newEntry(c wechat.Credential, obtainedAt time.Time) entry {
	return newEntryUntil(c.Value, obtainedAt, obtainedAt.Add(c.ExpiresIn))
}

// newEntryUntil computes the life of a credential from its two absolute
// instants, which is how the L2 keeps them: every instance reading it then
// agrees on when to refresh.
func newEntryUntil(value string, obtainedAt, expiresAt time.Time) entry {
	life := expiresAt.Sub(obtainedAt)
	margin := min(maxMargin, life/10)
	usable := life - margin
	return entry{
		value:       value,
		obtainedAt:  obtainedAt,
		refreshAt:   obtainedAt.Add(usable / 4 * 3),
		usableUntil: obtainedAt.Add(usable),
		expiresAt:   expiresAt,
	}
}

// String keeps the value out of any accidental formatting.
func (e entry) String() string {
	return fmt.Sprintf("entry{value:[REDACTED %d bytes], obtainedAt:%s, expiresAt:%s}",
		len(e.value), e.obtainedAt.Format(time.RFC3339), e.expiresAt.Format(time.RFC3339))
}

// GoString is String, for %#v.
func (e entry) GoString() string { return e.String() }

// Format is String for every verb.
func (e entry) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(e.String())) }

// put stores e under key. Ristretto applies a Set asynchronously; Wait makes
// it visible to the next Get, so the waiters a flight releases find it.
// Ristretto's TTL, on the real clock, only backs up the checks made with the
// store's clock.
func (s *Store) put(key uint64, e entry, ttl time.Duration) {
	if !s.cache.SetWithTTL(key, e, 1, ttl) {
		s.log.Warn("credential cache dropped a write; the next request will fetch again")
	}
	s.cache.Wait()
}

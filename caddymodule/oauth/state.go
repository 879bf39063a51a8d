package oauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"time"
)

// stateTTL is how long a sign-in may take, from the redirect to WeChat to
// the callback. WeChat's code lives five minutes; the consent page of
// snsapi_userinfo can keep a user a little longer.
const stateTTL = 10 * time.Minute

// idSize is the random part of a state: 192 bits. In hex it is 48
// characters of [0-9a-f], inside WeChat's 128 bytes of [A-Za-z0-9].
const idSize = 24

// stateID is the opaque, random id WeChat carries in state.
type stateID [idSize]byte

// param is the id as the state parameter spells it.
func (id stateID) param() string { return hex.EncodeToString(id[:]) }

func newStateID() stateID {
	var id stateID
	_, _ = rand.Read(id[:]) // never fails: crypto/rand crashes the program instead
	return id
}

// pending is a sign-in under way, carried by the browser in the sealed
// state cookie: the state id WeChat must bring back, when the attempt
// expires, and where to send the browser afterwards. Carrying it in the
// browser rather than in memory lets any instance of a cluster take the
// callback.
type pending struct {
	ID      stateID
	Expires time.Time
	// Return is the request-target (path and query) to land on; always
	// local (see localTarget).
	Return string
}

// State payload layout: expiry (int64 Unix seconds, big-endian), the id,
// then the return target up to the end.
const pendingFixed = 8 + idSize

func encodePending(p pending) []byte {
	b := make([]byte, 8, pendingFixed+len(p.Return))
	binary.BigEndian.PutUint64(b, uint64(p.Expires.Unix()))
	b = append(b, p.ID[:]...)
	return append(b, p.Return...)
}

// decodePending parses what encodePending wrote. A return target that is
// not local is refused even though the value was sealed here: whatever
// made it, following it could send the user to another site.
func decodePending(b []byte) (pending, bool) {
	if len(b) < pendingFixed {
		return pending{}, false
	}
	var p pending
	p.Expires = time.Unix(int64(binary.BigEndian.Uint64(b)), 0)
	copy(p.ID[:], b[8:pendingFixed])
	p.Return = string(b[pendingFixed:])
	if !isLocalTarget(p.Return) {
		return pending{}, false
	}
	return p, true
}

// matchPending opens the browser's state cookies and returns the one whose
// id is param, the state WeChat brought back. A state without its cookie
// (another browser's, an attacker's callback link) matches nothing: that
// is what binds a sign-in to the browser that started it.
func (h *Handler) matchPending(r *http.Request, https bool, param string) (pending, bool) {
	if len(param) != 2*idSize {
		return pending{}, false
	}
	_, name := h.cookieNames(https)
	for _, c := range r.CookiesNamed(name) {
		plain, ok := h.sealer.open(purposeState, c.Value)
		if !ok {
			continue
		}
		p, ok := decodePending(plain)
		if ok && subtle.ConstantTimeCompare([]byte(p.ID.param()), []byte(param)) == 1 {
			return p, true
		}
	}
	return pending{}, false
}

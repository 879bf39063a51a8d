package oauth

import (
	"encoding/binary"
	"net/http"
	"time"
)

// session is what the session cookie carries: who the user is and until
// when. Never the user access_token.
type session struct {
	// Expires is when the sign-in ends, to the second.
	Expires time.Time
	// OpenID is empty for a snapshot-page virtual account, which gets a
	// short session without identity so it is not sent round in circles.
	// In WeCom mode it is a non-member's openid, empty for a member.
	OpenID  string
	UnionID string
	// UserID is a WeCom member's userid (WeCom mode only), empty for a
	// non-member.
	UserID string
}

// snapshotTTL is how long a snapshot-page session lasts: long enough not
// to loop through WeChat, short enough that the user who then opens the
// page for real is signed in properly.
const snapshotTTL = 5 * time.Minute

// maxIDLen bounds openid and unionid, as the wechat client does.
const maxIDLen = 128

// Session payload layout: expiry (int64 Unix seconds, big-endian), then
// openid and unionid, each as a length byte and the bytes.
const sessionFixed = 8 + 1 + 1

// encodeSession lays s out for sealing.
func encodeSession(s session) []byte {
	b := make([]byte, 8, sessionFixed+len(s.OpenID)+len(s.UnionID))
	binary.BigEndian.PutUint64(b, uint64(s.Expires.Unix()))
	b = append(b, byte(len(s.OpenID)))
	b = append(b, s.OpenID...)
	b = append(b, byte(len(s.UnionID)))
	return append(b, s.UnionID...)
}

// decodeSession parses what encodeSession wrote and nothing else: every
// length must add up, and the ids must be what WeChat issues (a value that
// went into a cookie goes into a request header next).
func decodeSession(b []byte) (session, bool) {
	if len(b) < sessionFixed {
		return session{}, false
	}
	exp := int64(binary.BigEndian.Uint64(b))
	rest := b[8:]
	openID, rest, ok := lengthPrefixed(rest)
	if !ok {
		return session{}, false
	}
	unionID, rest, ok := lengthPrefixed(rest)
	if !ok || len(rest) != 0 || !validIDOrEmpty(openID) || !validIDOrEmpty(unionID) || openID == "" && unionID != "" {
		return session{}, false
	}
	return session{Expires: time.Unix(exp, 0), OpenID: openID, UnionID: unionID}, true
}

// lengthPrefixed splits a length byte and that many bytes off b.
func lengthPrefixed(b []byte) (string, []byte, bool) {
	if len(b) < 1 || int(b[0]) > len(b)-1 || int(b[0]) > maxIDLen {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}

// validIDOrEmpty accepts WeChat's id alphabet: letters, digits, '-', '_'.
func validIDOrEmpty(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// readSession returns the session of the first session cookie that opens
// and has not expired. Several cookies of the name can arrive (one tossed
// by a sibling subdomain over http, say): a forged one is skipped, never
// trusted.
func (h *Handler) readSession(r *http.Request, https bool) (session, bool) {
	name, _ := h.cookieNames(https)
	now := h.now()
	p, decode := purposeSession, decodeSession
	if h.weCom() {
		p, decode = purposeWeComSession, decodeWeComSession
	}
	for _, c := range r.CookiesNamed(name) {
		plain, ok := h.sealer.open(p, c.Value)
		if !ok {
			continue
		}
		s, ok := decode(plain)
		if ok && now.Before(s.Expires) {
			return s, true
		}
	}
	return session{}, false
}

// sessionCookie is the Set-Cookie of a new session.
func (h *Handler) sessionCookie(s session, ttl time.Duration, https bool) *http.Cookie {
	name, _ := h.cookieNames(https)
	return h.cookie(name, h.sealer.seal(purposeSession, encodeSession(s)), ttl, https)
}

// cookie is one of the handler's cookies: host-only, whole site, HttpOnly,
// SameSite=Lax (sent on the top-level GET that WeChat's redirect is, not
// on cross-site subrequests), Secure over https.
func (h *Handler) cookie(name, value string, ttl time.Duration, https bool) *http.Cookie {
	maxAge := int(ttl / time.Second)
	if ttl < 0 {
		maxAge = -1
	}
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   https,
		SameSite: http.SameSiteLaxMode,
	}
}

package oauth

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fuzzHandler is a handler with the fixed test key and clock, provisioned
// by hand (no storage, no logs): millions of runs must stay cheap.
func fuzzHandler(t testing.TB) *Handler {
	h := &Handler{AppID: testAppID, sealer: testSealer(t, testAppID), now: func() time.Time { return testNow }}
	h.applyDefaults()
	return h
}

// FuzzCookies sends an arbitrary Cookie header, and an arbitrary state, to
// the parsers of both cookies. Whatever they accept must be what the
// handler could have sealed: ids of WeChat's alphabet, a session not yet
// expired, a state matching the parameter with a local return target. The
// corpus (testdata/fuzz/FuzzCookies) holds cookies sealed with the fixed
// test key, so the fuzzer starts from values that open.
func FuzzCookies(f *testing.F) {
	h := fuzzHandler(f)
	p := pending{ID: stateID{1, 2, 3}, Expires: testNow.Add(time.Minute), Return: "/a?b=c"}
	f.Add("wechat_oauth="+h.sealer.seal(purposeSession, encodeSession(session{Expires: testNow.Add(time.Hour), OpenID: testOpenID, UnionID: testUnion})), "")
	f.Add("wechat_oauth_state="+h.sealer.seal(purposeState, encodePending(p)), p.ID.param())
	f.Add("wechat_oauth=; wechat_oauth=x; __Host-wechat_oauth=y", "")
	f.Add(`wechat_oauth="quoted"`, "0")
	f.Fuzz(func(t *testing.T, cookieHeader, state string) {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", cookieHeader)
		for _, https := range []bool{false, true} {
			if s, ok := h.readSession(r, https); ok {
				if !testNow.Before(s.Expires) || !validIDOrEmpty(s.OpenID) || !validIDOrEmpty(s.UnionID) || len(s.OpenID) > maxIDLen {
					t.Fatalf("accepted session %+v", s)
				}
			}
			if p, ok := h.matchPending(r, https, state); ok {
				if p.ID.param() != state || !isLocalTarget(p.Return) {
					t.Fatalf("accepted state %+v for %q", p, state)
				}
			}
		}
	})
}

// FuzzSessionPayload checks the session decoder alone, which the AEAD
// hides from FuzzCookies: what it accepts is exactly what encodeSession
// writes, so there is one spelling per session.
func FuzzSessionPayload(f *testing.F) {
	f.Add(encodeSession(session{Expires: testNow, OpenID: testOpenID, UnionID: testUnion}))
	f.Add(encodeSession(session{Expires: testNow}))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 'o', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := decodeSession(b)
		if !ok {
			return
		}
		if again := encodeSession(s); !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v re-encodes as %x, not %x", s, again, b)
		}
		if s.OpenID == "" && s.UnionID != "" {
			t.Fatalf("unionid without openid: %+v", s)
		}
	})
}

// FuzzPendingPayload checks the state decoder alone: one spelling per
// state, and never a return target that leaves the site.
func FuzzPendingPayload(f *testing.F) {
	f.Add(encodePending(pending{Expires: testNow, Return: "/x?y"}))
	f.Add(encodePending(pending{Expires: testNow, Return: "//evil.example"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := decodePending(b)
		if !ok {
			return
		}
		if again := encodePending(p); !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v re-encodes differently", p)
		}
		if !isLocalTarget(p.Return) {
			t.Fatalf("accepted return %q", p.Return)
		}
	})
}

// FuzzLocalTarget checks that any request-target becomes a Location that a
// browser resolves on this origin.
func FuzzLocalTarget(f *testing.F) {
	for _, s := range []string{"/", "//evil", `/\evil`, "/a?b", "https://x", "/\t/evil", "/%2F%2Fevil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := localTarget(in)
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.HasPrefix(out, `/\`) {
			t.Fatalf("localTarget(%q) = %q", in, out)
		}
		if strings.ContainsFunc(out, func(c rune) bool { return c < ' ' || c == 0x7f }) {
			t.Fatalf("localTarget(%q) = %q has control characters", in, out)
		}
		if localTarget(out) != out {
			t.Fatalf("localTarget is not idempotent on %q", out)
		}
	})
}

package oauth

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// testKey is a fixed cookie key for codec tests.
var testKey = bytes.Repeat([]byte{0x5a}, keySize)

func testSealer(t testing.TB, appID string) *sealer {
	t.Helper()
	s, err := newSealer(testKey, appID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := testSealer(t, testAppID)
	for _, plain := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte("ab"), 1000)} {
		v := s.seal(purposeSession, plain)
		if strings.ContainsAny(v, "=+/;, \"") {
			t.Errorf("sealed value %q has characters a cookie cannot carry raw", v)
		}
		got, ok := s.open(purposeSession, v)
		if !ok || !bytes.Equal(got, plain) {
			t.Errorf("open(seal(%d bytes)) = %v %d bytes", len(plain), ok, len(got))
		}
		if v2 := s.seal(purposeSession, plain); v2 == v {
			t.Error("two seals of the same value are equal: the nonce repeats")
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	s := testSealer(t, testAppID)
	good := s.seal(purposeSession, []byte("payload!")) // 37 bytes sealed: base64 would pad
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	reencode := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	otherKey, _ := newSealer(bytes.Repeat([]byte{0x5b}, keySize), testAppID)
	tests := map[string]struct {
		s     *sealer
		p     purpose
		value string
	}{
		"another purpose":  {s, purposeState, good},
		"another app":      {testSealer(t, "wx1"), purposeSession, good},
		"another key":      {otherKey, purposeSession, good},
		"version 0":        {s, purposeSession, reencode(append([]byte{0}, raw[1:]...))},
		"version 2":        {s, purposeSession, reencode(append([]byte{2}, raw[1:]...))},
		"no tag":           {s, purposeSession, reencode(raw[:len(raw)-16])},
		"only the version": {s, purposeSession, reencode(raw[:1])},
		"padded base64":    {s, purposeSession, base64.URLEncoding.EncodeToString(raw)},
		"std base64":       {s, purposeSession, strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+"},
		"too long":         {s, purposeSession, good + strings.Repeat("A", maxSealed)},
		"empty":            {s, purposeSession, ""},
	}
	for name, tt := range tests {
		if _, ok := tt.s.open(tt.p, tt.value); ok {
			t.Errorf("%s: opened", name)
		}
	}
	// every single-bit flip anywhere
	for i := range raw {
		for bit := range 8 {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			if _, ok := s.open(purposeSession, reencode(b)); ok {
				t.Fatalf("flipping bit %d of byte %d still opens", bit, i)
			}
		}
	}
}

func TestNewSealerKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := newSealer(make([]byte, n), testAppID); err == nil {
			t.Errorf("a %d-byte key was accepted", n)
		}
	}
}

func TestSessionCodec(t *testing.T) {
	exp := time.Unix(1700000000, 0)
	valid := []session{
		{Expires: exp, OpenID: testOpenID},
		{Expires: exp, OpenID: testOpenID, UnionID: testUnion},
		{Expires: exp}, // a snapshot user
		{Expires: exp, OpenID: strings.Repeat("o", maxIDLen), UnionID: strings.Repeat("u", maxIDLen)},
	}
	for _, s := range valid {
		got, ok := decodeSession(encodeSession(s))
		if !ok || got != s {
			t.Errorf("round trip of %+v: %+v %v", s, got, ok)
		}
	}
	good := encodeSession(valid[1])
	invalid := map[string][]byte{
		"empty":                  nil,
		"short":                  good[:9],
		"openid length too long": append(append([]byte{}, good[:8]...), 200, 'o'),
		"trailing byte":          append(bytes.Clone(good), 'x'),
		"missing byte":           good[:len(good)-1],
		"openid with a newline":  encodeSession(session{Expires: exp, OpenID: "o\n1"}),
		"unionid with a space":   encodeSession(session{Expires: exp, OpenID: "o", UnionID: "u 1"}),
		"unionid without openid": encodeSession(session{Expires: exp, UnionID: "u"}),
		"openid over 128":        encodeSession(session{Expires: exp, OpenID: strings.Repeat("o", maxIDLen+1)}),
	}
	for name, b := range invalid {
		if s, ok := decodeSession(b); ok {
			t.Errorf("%s: decoded %+v", name, s)
		}
	}
}

func TestPendingCodec(t *testing.T) {
	p := pending{ID: newStateID(), Expires: time.Unix(1700000600, 0), Return: "/a?b=c"}
	got, ok := decodePending(encodePending(p))
	if !ok || got != p {
		t.Errorf("round trip: %+v %v", got, ok)
	}
	if len(p.ID.param()) != 48 {
		t.Errorf("state %q", p.ID.param())
	}
	for name, b := range map[string][]byte{
		"short":         encodePending(p)[:pendingFixed-1],
		"no return":     encodePending(pending{ID: p.ID, Expires: p.Expires}),
		"absolute":      encodePending(pending{ID: p.ID, Expires: p.Expires, Return: "https://evil.example/"}),
		"scheme-less":   encodePending(pending{ID: p.ID, Expires: p.Expires, Return: "//evil.example/"}),
		"backslash":     encodePending(pending{ID: p.ID, Expires: p.Expires, Return: `/\evil.example`}),
		"control chars": encodePending(pending{ID: p.ID, Expires: p.Expires, Return: "/\r\nX: y"}),
	} {
		if got, ok := decodePending(b); ok {
			t.Errorf("%s: decoded %+v", name, got)
		}
	}
}

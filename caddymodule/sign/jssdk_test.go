package sign

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

type jssdkVector struct {
	Name string `json:"name"`
	// Kind is which ticket signs the page: empty for an Official Account's
	// jsapi_ticket, "wecom_corp" for WeCom's corp ticket (wx.config),
	// "wecom_agent" for its agent_config ticket (wx.agentConfig).
	Kind      string `json:"ticket_kind"`
	Ticket    string `json:"ticket"`
	Nonce     string `json:"noncestr"`
	Timestamp int64  `json:"timestamp"`
	URL       string `json:"url"`
	Signature string `json:"signature"`
}

func loadVectors(t testing.TB) []jssdkVector {
	t.Helper()
	data, err := os.ReadFile("testdata/jssdk_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []jssdkVector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 5 {
		t.Fatalf("testdata/jssdk_vectors.json holds %d vectors, want at least 5", len(file.Vectors))
	}
	return file.Vectors
}

func TestJSSDKVectors(t *testing.T) {
	sawLong := false
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if got := JSSDK(v.Ticket, v.Nonce, v.Timestamp, v.URL); got != v.Signature {
				t.Errorf("JSSDK = %s, want %s", got, v.Signature)
			}
			prefix := []byte("sig:")
			got := AppendJSSDK(prefix, v.Ticket, v.Nonce, v.Timestamp, v.URL)
			if want := "sig:" + v.Signature; string(got) != want {
				t.Errorf("AppendJSSDK = %s, want %s", got, want)
			}
		})
		sawLong = sawLong || len(v.URL) > stackBufSize
	}
	if !sawLong {
		t.Errorf("no vector has a URL longer than the %d-byte stack buffer: the heap fallback is untested", stackBufSize)
	}
}

// TestJSSDKWeComVectors: the vectors file has WeCom pages signed with each
// of its two tickets (TestJSSDKVectors checks their signatures), and for a
// page signed with both, using one ticket for the other — the classic
// WeCom bug — gives the other kind's signature, not this one.
func TestJSSDKWeComVectors(t *testing.T) {
	byKind := map[string][]jssdkVector{}
	for _, v := range loadVectors(t) {
		switch v.Kind {
		case "", "wecom_corp", "wecom_agent":
			byKind[v.Kind] = append(byKind[v.Kind], v)
		default:
			t.Errorf("vector %q: unknown ticket_kind %q", v.Name, v.Kind)
		}
	}
	if len(byKind["wecom_corp"]) == 0 || len(byKind["wecom_agent"]) == 0 {
		t.Fatalf("want WeCom vectors of both ticket kinds, have %d corp and %d agent", len(byKind["wecom_corp"]), len(byKind["wecom_agent"]))
	}
	pairs := 0
	for _, c := range byKind["wecom_corp"] {
		for _, a := range byKind["wecom_agent"] {
			if c.Nonce != a.Nonce || c.Timestamp != a.Timestamp || c.URL != a.URL {
				continue
			}
			pairs++
			if c.Ticket == a.Ticket || c.Signature == a.Signature {
				t.Errorf("%q and %q: the two kinds need two tickets and two signatures", c.Name, a.Name)
			}
			if got := JSSDK(a.Ticket, c.Nonce, c.Timestamp, c.URL); got != a.Signature || got == c.Signature {
				t.Errorf("wx.config signed with the agent ticket = %s, want the agent signature %s", got, a.Signature)
			}
		}
	}
	if pairs == 0 {
		t.Error("no corp and agent vectors for the same page (noncestr, timestamp, url)")
	}
}

// TestJSSDKAroundStackBuffer checks every URL length where the signed string
// moves from the stack buffer to the heap, against a plain reference.
func TestJSSDKAroundStackBuffer(t *testing.T) {
	const ticket, nonce, ts = "T", "N", int64(-9223372036854775808) // the longest int64
	fixed := len(fmt.Sprintf("jsapi_ticket=%s&noncestr=%s&timestamp=%d&url=", ticket, nonce, ts))
	for n := stackBufSize - fixed - 30; n <= stackBufSize-fixed+30; n++ {
		url := "https://e.com/" + strings.Repeat("x", n-len("https://e.com/"))
		sum := sha1.Sum([]byte(fmt.Sprintf("jsapi_ticket=%s&noncestr=%s&timestamp=%d&url=%s", ticket, nonce, ts, url)))
		if got, want := JSSDK(ticket, nonce, ts, url), hex.EncodeToString(sum[:]); got != want {
			t.Fatalf("url length %d: JSSDK = %s, want %s", n, got, want)
		}
	}
}

func TestAppendJSSDKDoesNotAllocate(t *testing.T) {
	v := loadVectors(t)[0]
	dst := make([]byte, 0, JSSDKSize)
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendJSSDK(dst[:0], v.Ticket, v.Nonce, v.Timestamp, v.URL)
	})
	if allocs != 0 {
		t.Errorf("AppendJSSDK with room in dst allocates %v times per call, want 0", allocs)
	}
	if string(dst) != v.Signature {
		t.Errorf("AppendJSSDK = %s, want %s", dst, v.Signature)
	}
}

// TestSignaturePathAllocations bounds what a request pays for a nonce and a
// signature as strings, the form wx.config needs them in.
func TestSignaturePathAllocations(t *testing.T) {
	v := loadVectors(t)[0]
	allocs := testing.AllocsPerRun(100, func() {
		_ = JSSDK(v.Ticket, Nonce(), v.Timestamp, v.URL)
	})
	if allocs > 3 {
		t.Errorf("Nonce + JSSDK allocate %v times, want at most 3", allocs)
	}
}

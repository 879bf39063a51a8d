package sign

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func refJSSDK(ticket, nonce, ts, url string) string {
	sum := sha1.Sum([]byte(keyTicket + ticket + keyNonce + nonce + keyTimestamp + ts + keyURL + url))
	return hex.EncodeToString(sum[:])
}

func TestJSSDKTicketVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			ts := strconv.FormatInt(v.Timestamp, 10)
			got := NewJSSDKTicket(v.Ticket).AppendJSSDK([]byte("sig:"), v.Nonce, ts, v.URL)
			if want := "sig:" + v.Signature; string(got) != want {
				t.Errorf("JSSDKTicket.AppendJSSDK = %s, want %s", got, want)
			}
		})
	}
}

// TestJSSDKTicketLengths crosses every place where the length matters:
// tickets whose prefix leaves 0, 1 or 2 whole blocks and every remainder
// around them, messages whose padding does or does not fit their last
// block, and URLs around the buffer that is hashed whenever it fills —
// in the fast path and in the one that starts from scratch.
func TestJSSDKTicketLengths(t *testing.T) {
	const nonce, ts = "Wm3WZYTPz0wzccnW", "1414587457"
	prefixLen := len(keyTicket) + len(keyNonce)
	var tickets []string
	for _, n := range []int{0, 1, 64 - prefixLen - 1, 64 - prefixLen, 64 - prefixLen + 1, 86, 128 - prefixLen, 300} {
		tickets = append(tickets, strings.Repeat("T", n))
	}
	var urls []string
	for n := 0; n <= 2*stackBufSize+130; n++ {
		if n > 200 && (n%stackBufSize > 100 && n%stackBufSize < stackBufSize-300) {
			continue
		}
		urls = append(urls, "https://e.com/"+strings.Repeat("x", n))
	}
	for _, ticket := range tickets {
		fast := NewJSSDKTicket(ticket)
		if fast.state == nil {
			t.Fatalf("ticket of %d bytes: no saved state, the fast path is off", len(ticket))
		}
		slow := &JSSDKTicket{prefix: keyTicket + ticket + keyNonce}
		for _, url := range urls {
			want := refJSSDK(ticket, nonce, ts, url)
			// A state crypto/sha1 refuses: sum starts over.
			broken := &JSSDKTicket{prefix: fast.prefix, state: []byte("sha\x01?"), whole: fast.whole}
			for _, tk := range []*JSSDKTicket{fast, slow, broken} {
				if got := string(tk.AppendJSSDK(nil, nonce, ts, url)); got != want {
					t.Fatalf("ticket %d bytes, url %d bytes, state %q: %s, want %s", len(ticket), len(url), tk.state, got, want)
				}
			}
		}
	}
}

func TestAppendNonceJSSDK(t *testing.T) {
	v := loadVectors(t)[2]
	ts := strconv.FormatInt(v.Timestamp, 10)
	tk := NewJSSDKTicket(v.Ticket)
	const sep = `","signature":"`
	seen := map[string]bool{}
	for range 100 {
		got := string(tk.AppendNonceJSSDK([]byte("p"), sep, ts, v.URL))
		if len(got) != 1+NonceSize+len(sep)+JSSDKSize || got[0] != 'p' || got[1+NonceSize:1+NonceSize+len(sep)] != sep {
			t.Fatalf("AppendNonceJSSDK = %q: want p, a nonce, %s, a signature", got, sep)
		}
		nonce := got[1 : 1+NonceSize]
		if strings.Trim(nonce, nonceAlphabet) != "" || seen[nonce] {
			t.Fatalf("nonce %q: not [A-Za-z0-9] or repeated", nonce)
		}
		seen[nonce] = true
		if sig, want := got[1+NonceSize+len(sep):], refJSSDK(v.Ticket, nonce, ts, v.URL); sig != want {
			t.Fatalf("signature %s, want %s for nonce %s", sig, want, nonce)
		}
	}
}

// TestJSSDKTicketConcurrent signs with one JSSDKTicket from many goroutines
// (run it with -race).
func TestJSSDKTicketConcurrent(t *testing.T) {
	v := loadVectors(t)[0]
	ts := strconv.FormatInt(v.Timestamp, 10)
	tk := NewJSSDKTicket(v.Ticket)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			buf := make([]byte, 0, 128)
			for range 500 {
				if got := string(tk.AppendJSSDK(buf[:0], v.Nonce, ts, v.URL)); got != v.Signature {
					t.Errorf("AppendJSSDK = %s, want %s", got, v.Signature)
					return
				}
				buf = tk.AppendNonceJSSDK(buf[:0], ":", ts, v.URL)
			}
		})
	}
	wg.Wait()
}

// TestAppendHex holds appendHex to encoding/hex for every byte value in
// every position.
func TestAppendHex(t *testing.T) {
	var sum [sha1.Size]byte
	for b := range 256 {
		for i := range sum {
			sum[i] = byte(b + 7*i)
		}
		if got, want := string(appendHex([]byte("x"), &sum)), "x"+hex.EncodeToString(sum[:]); got != want {
			t.Fatalf("appendHex = %s, want %s", got, want)
		}
	}
}

// BenchmarkJSSDKTicket is the signature path of a page with a prepared
// ticket: a nonce, then the signature.
func BenchmarkJSSDKTicket(b *testing.B) {
	v := loadVectors(b)[0]
	tk := NewJSSDKTicket(v.Ticket)
	ts := strconv.FormatInt(v.Timestamp, 10)
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst = tk.AppendNonceJSSDK(dst[:0], ":", ts, v.URL)
	}
	benchSink = dst
}

// FuzzJSSDKTicket holds a prepared ticket's signature to the one of the
// signed string hashed in one piece.
func FuzzJSSDKTicket(f *testing.F) {
	f.Add("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg", "Wm3WZYTPz0wzccnW", "1414587457", "http://mp.weixin.qq.com?params=value")
	f.Add("", "", "", "")
	f.Add("T", "N", "-9223372036854775808", strings.Repeat("u", 1100))
	f.Fuzz(func(t *testing.T, ticket, nonce, ts, url string) {
		want := refJSSDK(ticket, nonce, ts, url)
		if got := string(NewJSSDKTicket(ticket).AppendJSSDK(nil, nonce, ts, url)); got != want {
			t.Fatalf("AppendJSSDK = %s, want %s", got, want)
		}
		if got := string(AppendJSSDK(nil, ticket, nonce, 0, url)); got != refJSSDK(ticket, nonce, "0", url) {
			t.Fatalf("package AppendJSSDK = %s", got)
		}
	})
}

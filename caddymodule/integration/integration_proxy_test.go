package integration_test

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const upstreamPage = "<!DOCTYPE html><html><head><title>app</title></head><body><p>from the app</p></body></html>"

// proxySite puts wechat_jssdk (with opts) in front of reverse_proxy to
// upstream (with proxyOpts).
func proxySite(upstream, opts string, proxyOpts ...string) string {
	return `
http://` + siteAddr + ` {
	encode gzip
	wechat_jssdk {
		app_id     ` + testAppID + `
		app_secret ` + testSecret + `
		api_base   ` + sandURL + `
		` + opts + `
	}
	reverse_proxy ` + strings.TrimPrefix(upstream, "http://") + ` {
		` + strings.Join(proxyOpts, "\n\t\t") + `
	}
}
`
}

func TestReverseProxyGzipUpstreamIsAskedForIdentity(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Accept-Encoding"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, upstreamPage)
			zw.Close()
			return
		}
		io.WriteString(w, upstreamPage)
	}))
	defer upstream.Close()
	startCaddy(t, globalOptions("")+sandboxSite+proxySite(upstream.URL, ""))

	t.Run("identity client", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, siteURL+"/app?x=1")
		if resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("client did not ask for gzip but got %q", resp.Header.Get("Content-Encoding"))
		}
		c := injectedConfig(t, body)
		if ok, msg := verify(t, c, siteURL+"/app?x=1"); !ok {
			t.Errorf("sandbox rejects: %s", msg)
		}
		if stripBlock(body) != upstreamPage {
			t.Errorf("upstream page changed beyond the block: %s", body)
		}
	})
	t.Run("gzip client", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, siteURL+"/app", "Accept-Encoding", "gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("encode did not compress the injected page: %v", resp.Header)
		}
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		c := injectedConfig(t, string(plain))
		if ok, msg := verify(t, c, siteURL+"/app"); !ok {
			t.Errorf("sandbox rejects: %s", msg)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	for _, ae := range seen {
		if ae != "identity" {
			t.Errorf("upstream was asked for Accept-Encoding %q, want identity", ae)
		}
	}
}

func TestReverseProxyCompressedUpstreamPassesThroughUntouched(t *testing.T) {
	// An upstream that compresses whatever it is asked: the body must reach
	// the client intact (not rewritten as if it were text).
	var zipped strings.Builder
	zw := gzip.NewWriter(&zipped)
	io.WriteString(zw, upstreamPage)
	zw.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, zipped.String())
	}))
	defer upstream.Close()
	startCaddy(t, globalOptions("")+sandboxSite+proxySite(upstream.URL, ""))

	resp, body := get(t, http.MethodGet, siteURL+"/", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || body != zipped.String() {
		t.Fatalf("compressed upstream body was altered (%d bytes, %v)", len(body), resp.Header)
	}
}

func TestReverseProxyStreamsFlushedChunks(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head><title>stream</title></he")
		w.(http.Flusher).Flush()
		io.WriteString(w, "ad><body>first")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "<p>second</p></body></html>")
	}))
	defer upstream.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	startCaddy(t, globalOptions("")+sandboxSite+proxySite(upstream.URL, "", "flush_interval -1"))

	resp, err := http.Get(siteURL + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Length") != "" {
		t.Errorf("Content-Length on a rewritten stream: %v", resp.Header)
	}
	// The first part must arrive while the upstream is still blocked.
	br := bufio.NewReader(resp.Body)
	got := make(chan string, 1)
	go func() {
		var sb strings.Builder
		for !strings.Contains(sb.String(), "first") {
			b, err := br.ReadByte()
			if err != nil {
				break
			}
			sb.WriteByte(b)
		}
		got <- sb.String()
	}()
	var head string
	select {
	case head = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("flushed chunks were held back")
	}
	close(release)
	rest, _ := io.ReadAll(br)
	body := head + string(rest)
	c := injectedConfig(t, body)
	if ok, msg := verify(t, c, siteURL+"/live"); !ok {
		t.Errorf("sandbox rejects: %s", msg)
	}
	if !strings.HasSuffix(body, "<p>second</p></body></html>") {
		t.Errorf("tail lost: %q", body)
	}
}

package integration_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// h1OnlyClient speaks HTTP/1.1 only, h2cOnlyClient HTTP/2 over cleartext with
// prior knowledge (what Caddy's `protocols h1 h2c` accepts); neither
// follows redirects or asks for compression.
var (
	h1OnlyClient  = protocolClient(func(p *http.Protocols) { p.SetHTTP1(true) })
	h2cOnlyClient = protocolClient(func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) })
)

func protocolClient(set func(*http.Protocols)) *http.Client {
	var p http.Protocols
	set(&p)
	return &http.Client{
		Transport: &http.Transport{Protocols: &p, DisableCompression: true},
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// protoFetch sends req with client and reads the whole body. Unlike get, a
// transport error or a body cut short is returned, not fatal: a dropped
// connection is what some tests look for.
func protoFetch(client *http.Client, req *http.Request) (*http.Response, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// headerRequest is a GET of rawURL with the Host header host ("" keeps the
// URL's) and headers as name/value pairs, added in order: a name given
// twice makes two header lines.
func headerRequest(t *testing.T, rawURL, host string, headers ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}

// rawTargetGet writes a request to addr byte for byte — an absolute-form
// target, a Host of any kind — and reads the response.
func rawTargetGet(t *testing.T, addr, target, host string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", target, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s (Host %s): reading body: %v", target, host, err)
	}
	return resp, string(b)
}

// hasConfigBlock reports whether body carries the injected wx.config block.
func hasConfigBlock(body string) bool { return strings.Contains(body, `id="wechat-jssdk-config"`) }

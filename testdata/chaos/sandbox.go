package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// sandboxClient drives the sandbox's control calls.
type sandboxClient struct {
	base string
	http *http.Client
}

// post sends body to a control call and checks that it said ok.
func (s sandboxClient) post(path, body string) error {
	resp, err := s.http.Post(s.base+path, "application/json", bytes.NewBufferString(body))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, b)
	}
	return nil
}

// chaos replaces the sandbox's standing faults (POST /sandbox/chaos).
func (s sandboxClient) chaos(setting string) error { return s.post("/sandbox/chaos", setting) }

// rotate replaces every token and ticket without notice.
func (s sandboxClient) rotate() error { return s.post("/sandbox/rotate", "{}") }

// wechatCalls is the number of calls to the emulated WeChat endpoints so
// far, faulted ones included; verify calls are the harness's own.
func (s sandboxClient) wechatCalls() (int64, error) {
	resp, err := s.http.Get(s.base + "/sandbox/stats")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Token       int64 `json:"token"`
		StableToken int64 `json:"stable_token"`
		GetTicket   int64 `json:"getticket"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	return st.Token + st.StableToken + st.GetTicket, nil
}

// verify asks the sandbox whether the wx.config object cfg (JSON, with the
// url it was signed for) holds right now.
func (s sandboxClient) verify(cfg []byte) (bool, string, error) {
	resp, err := s.http.Post(s.base+"/sandbox/verify", "application/json", bytes.NewReader(cfg))
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	var r struct {
		OK     bool   `json:"ok"`
		ErrMsg string `json:"errmsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return false, "", fmt.Errorf("verify: %d: %w", resp.StatusCode, err)
	}
	return r.OK, r.ErrMsg, nil
}

// newHTTPClient is a client with enough idle connections for the rate.
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

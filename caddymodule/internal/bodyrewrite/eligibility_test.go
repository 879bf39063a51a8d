package bodyrewrite

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRewritable(t *testing.T) {
	tests := []struct {
		name   string
		status int
		hdr    http.Header
		want   bool
	}{
		{"200", 200, http.Header{}, true},
		{"201", 201, http.Header{}, true},
		{"203", 203, http.Header{}, true},
		{"299", 299, http.Header{}, true},
		{"204 has no body", 204, http.Header{}, false},
		{"205 has no body", 205, http.Header{}, false},
		{"206 is a part", 206, http.Header{}, false},
		{"1xx", 103, http.Header{}, false},
		{"304", 304, http.Header{}, false},
		{"301", 301, http.Header{}, false},
		{"404", 404, http.Header{}, false},
		{"500", 500, http.Header{}, false},
		{"300", 300, http.Header{}, false},
		{"199", 199, http.Header{}, false},
		{"0", 0, http.Header{}, false},
		{"identity", 200, http.Header{"Content-Encoding": {"identity"}}, true},
		{"Identity", 200, http.Header{"Content-Encoding": {"Identity"}}, true},
		{"gzip", 200, http.Header{"Content-Encoding": {"gzip"}}, false},
		{"br", 200, http.Header{"Content-Encoding": {"br"}}, false},
		{"zstd", 200, http.Header{"Content-Encoding": {"zstd"}}, false},
		{"empty coding", 200, http.Header{"Content-Encoding": {""}}, true},
		{"Content-Range", 200, http.Header{"Content-Range": {"bytes 0-9/100"}}, false},
		// each handler tests the type and, for wechat_pay, trailers
		{"any type", 200, http.Header{"Content-Type": {"image/png"}}, true},
		{"trailer", 200, http.Header{"Trailer": {"X-Checksum"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Rewritable(tt.status, tt.hdr); got != tt.want {
				t.Errorf("Rewritable(%d, %v) = %v, want %v", tt.status, tt.hdr, got, tt.want)
			}
		})
	}
}

func TestEligibleRequest(t *testing.T) {
	tests := []struct {
		name   string
		method string
		hdr    map[string]string
		want   bool
	}{
		{"GET", http.MethodGet, nil, true},
		{"POST", http.MethodPost, nil, true},
		{"PUT", http.MethodPut, nil, true},
		{"PATCH", http.MethodPatch, nil, true},
		{"DELETE", http.MethodDelete, nil, true},
		{"OPTIONS", http.MethodOptions, nil, true},
		{"HEAD has no body", http.MethodHead, nil, false},
		{"CONNECT tunnels", http.MethodConnect, nil, false},
		{"websocket", http.MethodGet, map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, false},
		{"h2c", http.MethodGet, map[string]string{"Upgrade": "h2c"}, false},
		{"Connection alone", http.MethodGet, map[string]string{"Connection": "keep-alive"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			if got := EligibleRequest(r); got != tt.want {
				t.Errorf("EligibleRequest(%s %v) = %v, want %v", tt.method, tt.hdr, got, tt.want)
			}
		})
	}
}

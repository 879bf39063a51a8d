package payrefusal

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/caddy-wechat/jssdk/caddymodule/sign"
)

func TestVerifyReason(t *testing.T) {
	for i, e := range verifyErrors {
		if got := VerifyReason(fmt.Errorf("wrapped: %w", e)); got != i {
			t.Errorf("VerifyReason(%v) = %d, want %d", e, got, i)
		}
	}
	if got := VerifyReason(errors.New("other")); got != VerifyOther {
		t.Errorf("other error: %d, want VerifyOther", got)
	}
	if VerifyReason(sign.ErrBadSignature) != VerifyOther-1 {
		t.Error("ErrBadSignature is no longer the last reason tried")
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, 400, "FAIL", `a "quoted" message`)
	if w.Code != 400 || w.Body.String() != `{"code":"FAIL","message":"a \"quoted\" message"}` {
		t.Errorf("got %d %s", w.Code, w.Body)
	}
	for k, v := range map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Content-Length": "48"} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

package jssdk

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestServeHTTPHostPort: a page asked for with a Host on another port than
// the listener's is served as it is — no block, no 503 even with on_error
// fail, no ticket fetched — counted as passed (host_port) and logged at
// warning level once, then at debug level.
func TestServeHTTPHostPort(t *testing.T) {
	for _, onError := range []string{"pass", "fail"} {
		t.Run("on_error "+onError, func(t *testing.T) {
			src := &fakeSource{}
			h := newTestHandler(t, src, func(h *Handler) { h.OnError = onError })
			core, logs := observer.New(zapcore.DebugLevel)
			h.pages.logger = zap.New(core)
			before := counterValue(t, passedHostPort)
			for i := range 2 {
				r := withListener(httptest.NewRequest(http.MethodGet, "/pay/order.html", nil), 8080)
				r.Host = "localhost:9999"
				rec := newRecorder()
				err := serve(t, h, rec, r, func(w http.ResponseWriter, r *http.Request) error {
					htmlHeader(w)
					w.WriteHeader(http.StatusOK)
					_, err := io.WriteString(w, testPage)
					return err
				})
				if err != nil {
					t.Fatalf("request %d: ServeHTTP: %v", i, err)
				}
				if !reflect.DeepEqual(rec.statuses, []int{200}) || rec.body.String() != testPage {
					t.Errorf("request %d: statuses %v, body %q: want the page unmodified", i, rec.statuses, rec.body.String())
				}
			}
			if got := counterValue(t, passedHostPort) - before; got != 2 {
				t.Errorf("passed/host_port grew by %v, want 2", got)
			}
			if n := src.tokenCalls.Load() + src.ticketCalls.Load(); n != 0 {
				t.Errorf("%d calls to WeChat for pages that are not signed", n)
			}
			warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
			debugs := logs.FilterLevelExact(zapcore.DebugLevel).All()
			if len(warns) != 1 || len(debugs) != 1 {
				t.Fatalf("want one warning then one debug line, got %d and %d: %v", len(warns), len(debugs), logs.All())
			}
			f := warns[0].ContextMap()
			if f["host"] != "localhost:9999" || f["listener"] != "127.0.0.1:8080" || !strings.Contains(warns[0].Message, "public_origin") {
				t.Errorf("warning %q %v", warns[0].Message, f)
			}
		})
	}

	t.Run("same port is signed", func(t *testing.T) {
		h := newTestHandler(t, &fakeSource{}, nil)
		r := withListener(httptest.NewRequest(http.MethodGet, "/pay/order.html", nil), 8080)
		r.Host = "localhost:8080"
		rec := newRecorder()
		if err := serve(t, h, rec, r, func(w http.ResponseWriter, r *http.Request) error {
			htmlHeader(w)
			_, err := io.WriteString(w, testPage)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		checkInjected(t, rec.body.String(), testPage, "http://localhost:8080/pay/order.html", "</head>")
	})
}

// TestConfigEndpointHostPortLogsOnce: the endpoint's 403 for a Host on
// another port is logged at warning level once.
func TestConfigEndpointHostPortLogsOnce(t *testing.T) {
	const ep = "/.well-known/wechat-jssdk/config"
	h := newTestHandler(t, &fakeSource{}, func(h *Handler) { h.ConfigEndpoint = ep })
	core, logs := observer.New(zapcore.DebugLevel)
	h.pages.logger = zap.New(core)
	for range 3 {
		r := withListener(httptest.NewRequest(http.MethodGet, ep+"?url="+url.QueryEscape("http://localhost:9999/"), nil), 8080)
		r.Host = "localhost:9999"
		rec := newRecorder()
		if err := h.ServeHTTP(rec, r, failNext(t)); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rec.statuses, []int{http.StatusForbidden}) {
			t.Fatalf("statuses %v, want [403]: %s", rec.statuses, rec.body.String())
		}
	}
	if w, d := len(logs.FilterLevelExact(zapcore.WarnLevel).All()), len(logs.FilterLevelExact(zapcore.DebugLevel).All()); w != 1 || d != 2 {
		t.Errorf("%d warnings and %d debug lines, want 1 and 2", w, d)
	}
}

// counterValue reads a counter of the handler's metrics.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

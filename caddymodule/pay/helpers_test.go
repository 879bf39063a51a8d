package pay

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// keysDir holds the repository's openssl-made test keys (see its README).
const keysDir = "../../testdata/keys/"

const (
	testAppID    = "wx0123456789abcdef"
	testPrepayID = "wx201410272009395522657a690389285100"
	testAPIKey   = "192006250b4c09247ec02edce69f6a2d"
)

// testNow is the handler's clock in unit tests.
var testNow = time.Unix(1414561699, 0)

// newHandler provisions a v3 handler (changed by mutate) whose logs, at
// every level, are returned for inspection.
func newHandler(t *testing.T, mutate func(*Handler)) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	h := &Handler{AppID: testAppID, PrivateKey: keysDir + "apiclient_key.pem"}
	if mutate != nil {
		mutate(h)
	}
	if err := provision(t, h); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	h.now = func() time.Time { return testNow }
	return h, logs
}

func provision(t *testing.T, h *Handler) error {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return h.Provision(ctx)
}

// upstream is what the next handler answers.
type upstream struct {
	status int
	header map[string]string
	body   string
	chunks int // write the body in this many pieces, flushing between them
}

func (u upstream) handler() caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		for k, v := range u.header {
			w.Header().Set(k, v)
		}
		if u.status != 0 {
			w.WriteHeader(u.status)
		}
		n := max(u.chunks, 1)
		step := (len(u.body) + n - 1) / n
		for b := u.body; b != ""; {
			p := b[:min(step, len(b))]
			b = b[len(p):]
			if _, err := io.WriteString(w, p); err != nil {
				return err
			}
			if u.chunks > 1 {
				http.NewResponseController(w).Flush()
			}
		}
		return nil
	})
}

// jsonUpstream answers 200 application/json with body.
func jsonUpstream(body string) upstream {
	return upstream{header: map[string]string{"Content-Type": "application/json"}, body: body}
}

// serve runs h for a request with method and returns the recorded response.
func serve(t *testing.T, h *Handler, method string, next caddyhttp.Handler) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, "/api/orders", nil)
	if err := h.ServeHTTP(rec, req, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return rec
}

// payParams are the parameters the handler adds.
type payParams struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// splitSigned finds the member added to in within out and returns it,
// failing unless out is in with exactly one member inserted.
func splitSigned(t *testing.T, in, out, outputField string) (payParams, int) {
	t.Helper()
	at := 0
	for at < len(in) && at < len(out) && in[at] == out[at] {
		at++
	}
	extra := len(out) - len(in)
	if extra <= 0 || out[at+extra:] != in[at:] {
		t.Fatalf("output is not the input with one insertion:\n in: %s\nout: %s", in, out)
	}
	inserted := out[at : at+extra]
	prefix := `,"` + outputField + `":`
	if !strings.HasPrefix(inserted, prefix) {
		t.Fatalf("inserted %q, want it to start with %q", inserted, prefix)
	}
	dec := json.NewDecoder(strings.NewReader(inserted[len(prefix):]))
	dec.DisallowUnknownFields()
	var p payParams
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("inserted member %s: %v", inserted, err)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(inserted[len(prefix):]), &raw); err != nil || len(raw) != 6 {
		t.Fatalf("inserted member %s: want 6 members, got %v (%v)", inserted, raw, err)
	}
	for k, v := range raw {
		if _, ok := v.(string); !ok {
			t.Errorf("member %s is %T, want a string", k, v)
		}
	}
	return p, at
}

func publicKey(t *testing.T) *rsa.PublicKey {
	t.Helper()
	data, err := os.ReadFile(keysDir + "apiclient_pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub.(*rsa.PublicKey)
}

// verifyRSA checks paySign with crypto/rsa, over the four lines WeChat
// documents.
func verifyRSA(t *testing.T, p payParams) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(p.PaySign)
	if err != nil {
		t.Fatalf("paySign %q: %v", p.PaySign, err)
	}
	digest := sha256.Sum256([]byte(p.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	if err := rsa.VerifyPKCS1v15(publicKey(t), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("paySign does not verify: %v", err)
	}
}

// warnings returns the messages logged at warn level or above.
func warnings(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
		out = append(out, e.Message)
	}
	return out
}

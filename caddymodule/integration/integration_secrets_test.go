package integration_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeWeChat answers the credential endpoints with known values, so a test
// can look for them where they must not be. failTicket makes the next
// getticket calls answer 40001.
type fakeWeChat struct {
	token, ticket string
	failTicket    atomic.Int32
	badSecret     atomic.Bool
}

func (f *fakeWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/cgi-bin/token", "/cgi-bin/stable_token":
		if f.badSecret.Load() {
			io.WriteString(w, `{"errcode":40125,"errmsg":"invalid appsecret rid: 1"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": f.token, "expires_in": 7200})
	case "/cgi-bin/ticket/getticket":
		if f.failTicket.Add(-1) >= 0 {
			io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest rid: 2"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"errcode": 0, "errmsg": "ok", "ticket": f.ticket, "expires_in": 7200})
	default:
		http.NotFound(w, r)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	const secret = "leak-canary-secret-5b1e0d"
	t.Setenv("JSSDK_TEST_SECRET", secret)
	fake := &fakeWeChat{
		token:  "leak-canary-token-" + strings.Repeat("T", 90),
		ticket: "leak-canary-ticket-" + strings.Repeat("K", 60),
	}
	wechat := httptest.NewServer(fake)
	defer wechat.Close()
	logFile := filepath.Join(t.TempDir(), "caddy.log")

	site := func(apiBase, source string) string {
		return `
http://` + siteAddr + ` {
	log {
		output file ` + logFile + `
		level DEBUG
	}
	wechat_jssdk {
		app_id       ` + testAppID + `
		app_secret   {env.JSSDK_TEST_SECRET}
		api_base     ` + apiBase + `
		token_source ` + source + `
		timeout      1s
	}
	root * ` + siteRoot + `
	file_server
}
`
	}
	global := globalOptions("log {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}")
	var responses strings.Builder
	fetch := func(target string) {
		resp, body := get(t, http.MethodGet, siteURL+target)
		responses.WriteString(body)
		for k, v := range resp.Header {
			responses.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
	}

	// success, then a 40001 that forces a refetch, with the classic token
	// whose secret rides in the query string
	startCaddy(t, global+site(wechat.URL, "classic"))
	fetch("/pay/order.html?step=1")
	fake.failTicket.Store(1)
	// a fresh store (another api_base spelling) so the 40001 path runs
	startCaddy(t, global+site(strings.Replace(wechat.URL, "127.0.0.1", "localhost", 1), "classic"))
	fetch("/pay/order.html?step=2")
	// WeChat refusing the secret
	fake.badSecret.Store(true)
	startCaddy(t, global+site(wechat.URL+"/", "stable"))
	fetch("/pay/order.html?step=3")
	// WeChat unreachable: Go's url.Error would print the query with the secret
	startCaddy(t, global+site("http://127.0.0.1:1", "classic"))
	fetch("/pay/order.html?step=4")
	startCaddy(t, global+site("http://127.0.0.1:1", "stable"))
	fetch("/pay/order.html?step=5")

	resp, err := http.Get("http://localhost:2999/config/")
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 {
		t.Fatal("nothing was logged: the test would prove nothing")
	}
	if !strings.Contains(string(logs), "invalid appsecret") && !strings.Contains(string(logs), "40125") {
		t.Errorf("the refused secret was not logged at all:\n%s", logs)
	}
	for name, hay := range map[string]string{"logs": string(logs), "responses": responses.String(), "admin /config/": string(admin)} {
		for _, needle := range []string{secret, fake.token, fake.ticket} {
			if strings.Contains(hay, needle) {
				t.Errorf("%s contain a secret (%.12s…)", name, needle)
			}
		}
	}
	if !strings.Contains(responses.String(), "wechat-jssdk-config") {
		t.Error("no page was injected: the success path was not exercised")
	}
}

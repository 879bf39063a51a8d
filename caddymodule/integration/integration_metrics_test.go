package integration_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const adminURL = "http://localhost:2999"

// scrape returns Caddy's caddy_wechat_* samples as "name{labels}" → value.
func scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, body := get(t, http.MethodGet, adminURL+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "caddy_wechat_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// TestMetricsAndAdmin: Caddy's /metrics and the admin API's
// /wechat_jssdk/ show the calls, the credentials' expiry, the shared
// storage's use and what happened to the pages; a refresh goes through
// the admin API within WeChat's limits; and neither shows the secret, the
// token or the ticket.
func TestMetricsAndAdmin(t *testing.T) {
	const secret = "metrics-canary-secret-2c1b"
	t.Setenv("JSSDK_TEST_SECRET", secret)
	fake := &fakeWeChat{
		token:  "metrics-canary-token-" + strings.Repeat("T", 90),
		ticket: "metrics-canary-ticket-" + strings.Repeat("K", 60),
	}
	wechat := httptest.NewServer(fake)
	defer wechat.Close()
	site := `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id     ` + testAppID + `
		app_secret {env.JSSDK_TEST_SECRET}
		api_base   ` + wechat.URL + `
	}
	root * ` + siteRoot + `
	file_server
}
`
	startCaddy(t, globalOptions("")+site)
	before := scrape(t)
	_, page := get(t, http.MethodGet, siteURL+"/pay/order.html")
	injectedConfig(t, page)
	get(t, http.MethodGet, siteURL+"/style.css")
	get(t, http.MethodHead, siteURL+"/pay/order.html")
	after := scrape(t)

	app := `app_id="` + testAppID + `"`
	for name, want := range map[string]float64{
		`caddy_wechat_injections_total{reason="ok",result="injected"}`:                  1,
		`caddy_wechat_injections_total{reason="not_html",result="passed"}`:              1,
		`caddy_wechat_injections_total{reason="request",result="passed"}`:               1,
		`caddy_wechat_injections_total{reason="no_ticket",result="passed"}`:             0,
		`caddy_wechat_api_calls_total{` + app + `,endpoint="stable_token",result="ok"}`: 1,
		`caddy_wechat_api_calls_total{` + app + `,endpoint="getticket",result="ok"}`:    1,
		`caddy_wechat_api_calls_total{` + app + `,endpoint="getticket",result="quota"}`: 0,
		`caddy_wechat_l2_reads_total{` + app + `,result="miss"}`:                        3,
		`caddy_wechat_l2_reads_total{` + app + `,result="hit"}`:                         0,
		`caddy_wechat_l2_lock_waits_total{` + app + `,result="acquired"}`:               1,
		`caddy_wechat_l2_errors_total{` + app + `,op="store"}`:                          0,
	} {
		got, ok := after[name]
		if !ok {
			t.Errorf("no sample %s", name)
			continue
		}
		if d := got - before[name]; d != want {
			t.Errorf("%s went up by %v, want %v", name, d, want)
		}
	}
	if v := after[`caddy_wechat_credential_expiry_seconds{`+app+`,credential="ticket"}`]; v < 7100 || v > 7200 {
		t.Errorf("ticket expiry %v s, want about 7200", v)
	}

	var outputs strings.Builder
	resp, body := get(t, http.MethodGet, adminURL+"/wechat_jssdk/")
	outputs.WriteString(body)
	var apps []struct {
		AppID           string                       `json:"app_id"`
		Source          string                       `json:"source"`
		Storage         string                       `json:"storage"`
		TicketExpiresAt *time.Time                   `json:"ticket_expires_at"`
		Calls           map[string]map[string]uint64 `json:"calls"`
		Shared          *struct {
			Misses uint64 `json:"misses"`
		} `json:"shared"`
	}
	if err := json.Unmarshal([]byte(body), &apps); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /wechat_jssdk/: %d %s %v", resp.StatusCode, body, err)
	}
	if len(apps) != 1 || apps[0].AppID != testAppID || apps[0].Source != "stable" || apps[0].TicketExpiresAt == nil ||
		apps[0].Calls["stable_token"]["ok"] != 1 || apps[0].Shared == nil || apps[0].Storage != "*certmagic.FileStorage" {
		t.Errorf("GET /wechat_jssdk/ = %s", body)
	}

	refresh := func() (*http.Response, string) {
		resp, err := http.Post(adminURL+"/wechat_jssdk/refresh?app_id="+testAppID, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		outputs.Write(b)
		return resp, string(b)
	}
	if resp, body := refresh(); resp.StatusCode != http.StatusOK {
		t.Errorf("refresh: %d %s", resp.StatusCode, body)
	}
	if resp, body := refresh(); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" {
		t.Errorf("second refresh: %d Retry-After %q %s, want 429 after 30 s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	final := scrape(t)
	if d := final[`caddy_wechat_api_calls_total{`+app+`,endpoint="stable_token",result="ok"}`] - before[`caddy_wechat_api_calls_total{`+app+`,endpoint="stable_token",result="ok"}`]; d != 2 {
		t.Errorf("%v stable_token calls after one forced refresh, want 2", d)
	}

	var metrics strings.Builder
	_, all := get(t, http.MethodGet, adminURL+"/metrics")
	metrics.WriteString(all)
	for name, hay := range map[string]string{"metrics": metrics.String(), "admin output": outputs.String()} {
		for _, needle := range []string{secret, fake.token, fake.ticket} {
			if strings.Contains(hay, needle) {
				t.Errorf("%s contain a secret (%.16s…)", name, needle)
			}
		}
	}
}

package integration_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// The self-healing tests rotate their app's credentials, which would leave
// every other test's cached ticket stale: they use an app and a sandbox of
// their own.
const (
	healAppID   = "wxselfheal00000001"
	healSandURL = "http://localhost:9082"
	healSandbox = `
http://localhost:9082, http://127.0.0.1:9082 {
	wechat_sandbox {
		app_id     ` + healAppID + `
		app_secret ` + testSecret + `
		allow_origin ` + siteURL + `
	}
}
`
)

// rotate makes the sandbox drop every token and ticket without notice, as
// when another service of the same account refreshes them.
func rotate(t *testing.T) {
	t.Helper()
	resp, err := http.Post(healSandURL+"/sandbox/rotate", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("rotate: %v %v", err, resp)
	}
	resp.Body.Close()
}

func TestSelfHealingRetryRefetchesOnce(t *testing.T) {
	site := `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id          ` + healAppID + `
		app_secret      ` + testSecret + `
		api_base        ` + healSandURL + `
		config_endpoint ` + configPath + `
	}
	respond "ok"
}
`
	startCaddy(t, globalOptions("")+healSandbox+site)
	stats := func() map[string]int { return sandboxStatsAt(t, healSandURL) }
	check := func(c wxConfig, page string) (bool, string) { return verifyAt(t, healSandURL, c, page) }
	page := siteURL + "/pay/order.html?x=1"
	endpoint := siteURL + configPath + "?url=" + url.QueryEscape(page)
	fetch := func(target string) wxConfig {
		t.Helper()
		resp, body := get(t, http.MethodGet, target)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", target, resp.StatusCode, body)
		}
		var c wxConfig
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if ok, msg := check(fetch(endpoint), page); !ok {
		t.Fatalf("before rotation: %s", msg)
	}

	rotate(t)
	stale := fetch(endpoint) // the cached ticket: WeChat no longer accepts it
	if ok, _ := check(stale, page); ok {
		t.Fatal("the rotation did not invalidate the cached ticket: the test proves nothing")
	}

	before := stats()
	var wg sync.WaitGroup
	configs := make(chan wxConfig, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := get(t, http.MethodGet, endpoint+"&retry=1")
			var c wxConfig
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &c) != nil {
				t.Errorf("retry: %d %s", resp.StatusCode, body)
				return
			}
			configs <- c
		}()
	}
	wg.Wait()
	close(configs)
	after := stats()
	// One refetch: a ticket call, and — when the cached token is the rotated
	// one, which WeChat now refuses with 40001 — one token call and a
	// second ticket call. Never more, whatever the number of pages asking.
	if d := after["getticket"] - before["getticket"]; d < 1 || d > 2 {
		t.Errorf("%d ticket calls for 100 concurrent retries, want 1 or 2", d)
	}
	if d := after["stable_token"] - before["stable_token"]; d > 1 {
		t.Errorf("%d token calls for 100 concurrent retries, want at most 1", d)
	}
	valid := 0
	for c := range configs {
		if ok, _ := check(c, page); ok {
			valid++
		}
	}
	// Retries that lost the race to the single refetch may have signed with
	// the stale ticket; what matters is that every page signs correctly from
	// the moment the refetch is done.
	if valid == 0 {
		t.Error("no retry got a valid signature")
	}
	if ok, msg := check(fetch(endpoint), page); !ok {
		t.Errorf("after the retry, pages still sign with the stale ticket: %s", msg)
	}

	// within 30 s a second retry does not call WeChat again
	before = stats()
	fetch(endpoint + "&retry=1")
	if after := stats(); after["getticket"] != before["getticket"] || after["stable_token"] != before["stable_token"] {
		t.Errorf("a retry within 30 s called WeChat: %v -> %v", before, after)
	}
}

func TestBrowserSelfHealsAfterRotation(t *testing.T) {
	chromium(t)
	// 127.0.0.1: a credential store of its own, whose 30 s refetch slot the
	// test above has not used
	startCaddy(t, globalOptions("")+healSandbox+browserSiteFor(healAppID, "http://127.0.0.1:9082", "config_endpoint "+configPath))
	// warm the store, then rotate behind its back
	dom, _ := browse(t, siteURL+"/pay.html?warm=1", uaAndroidWeChat, "")
	if rec := readRecord(t, dom); len(rec.Ready) != 1 {
		t.Fatalf("warm-up page not ready: %+v", rec)
	}
	rotate(t)
	dom, errs := browse(t, siteURL+"/pay.html?after=rotation", uaAndroidWeChat, "")
	rec := readRecord(t, dom)
	if !rec.Done || len(rec.Ready) != 1 || len(rec.Errors) != 0 {
		t.Fatalf("want the page to heal into one wx.ready with no error event, got %+v", rec)
	}
	if rec.Sandbox == nil || rec.Sandbox.Configs != 2 {
		t.Errorf("want two wx.config calls (stale, then healed), got %+v", rec.Sandbox)
	}
	if len(rec.APIs) != 1 || rec.APIs[0].ErrMsg != "checkJsApi:ok" {
		t.Errorf("JS-SDK call after healing: %+v", rec.APIs)
	}
	if len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

package integration_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWeChatUnreachablePageStillServed(t *testing.T) {
	site := func(opts string) string {
		return `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id     ` + testAppID + `
		app_secret ` + testSecret + `
		api_base   http://127.0.0.1:1
		timeout    2s
		` + opts + `
	}
	root * ` + siteRoot + `
	file_server
}
`
	}
	page, err := os.ReadFile(repoPath("testdata/site/pay/order.html"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("on_error pass", func(t *testing.T) {
		startCaddy(t, globalOptions("")+site(""))
		for i := 0; i < 3; i++ {
			start := time.Now()
			resp, body := get(t, http.MethodGet, siteURL+"/pay/order.html")
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("request %d took %v, longer than the WeChat timeout", i, d)
			}
			if resp.StatusCode != http.StatusOK || body != string(page) {
				t.Errorf("request %d: status %d, page modified: %v", i, resp.StatusCode, body != string(page))
			}
		}
	})
	t.Run("on_error fail", func(t *testing.T) {
		startCaddy(t, globalOptions("")+site("on_error fail"))
		resp, body := get(t, http.MethodGet, siteURL+"/pay/order.html")
		if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "订单") {
			t.Errorf("want 503 without the page, got %d %q", resp.StatusCode, body)
		}
		// what is not a page is not refused
		resp, _ = get(t, http.MethodGet, siteURL+"/style.css")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("stylesheet refused: %d", resp.StatusCode)
		}
	})
}

func TestWrongSecretPageStillServed(t *testing.T) {
	site := `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id     ` + testAppID + `
		app_secret not-the-secret
		api_base   ` + sandURL + `
	}
	root * ` + siteRoot + `
	file_server
}
`
	startCaddy(t, globalOptions("")+sandboxSite+site)
	resp, body := get(t, http.MethodGet, siteURL+"/pay/order.html")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "wechat-jssdk-config") {
		t.Errorf("want the page unmodified, got %d with block=%v", resp.StatusCode, strings.Contains(body, "wechat-jssdk-config"))
	}
}

func TestColdStartSharesOneFetch(t *testing.T) {
	// 127.0.0.1 instead of localhost makes a credential store of its own,
	// cold whatever earlier tests warmed.
	site := `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id     ` + testAppID + `
		app_secret ` + testSecret + `
		api_base   http://127.0.0.1:9081
	}
	root * ` + siteRoot + `
	file_server
}
`
	startCaddy(t, globalOptions("")+sandboxSite+site)
	before := sandboxStats(t)

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(siteURL + "/pay/order.html")
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			var sb strings.Builder
			if _, err := io.Copy(&sb, resp.Body); err != nil || !strings.Contains(sb.String(), "wechat-jssdk-config") {
				errs <- "page without block"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	after := sandboxStats(t)
	if d := after["stable_token"] - before["stable_token"]; d != 1 {
		t.Errorf("%d stable_token calls for %d cold requests, want 1", d, n)
	}
	if d := after["getticket"] - before["getticket"]; d != 1 {
		t.Errorf("%d getticket calls for %d cold requests, want 1", d, n)
	}
	if d := after["token"] - before["token"]; d != 0 {
		t.Errorf("%d classic token calls with token_source stable", d)
	}
}

func TestReloadFetchesNothingNew(t *testing.T) {
	startCaddy(t, globalOptions("")+sandboxSite+fileServerSite(""))
	_, body := get(t, http.MethodGet, siteURL+"/pay/order.html")
	injectedConfig(t, body)
	before := sandboxStats(t)

	// a reload with the same app: other options change, the credential stays
	startCaddy(t, globalOptions("")+sandboxSite+fileServerSite("debug\n\t\tjs_api_list chooseWXPay"))
	_, body = get(t, http.MethodGet, siteURL+"/pay/order.html")
	c := injectedConfig(t, body)
	if !c.Debug || len(c.JSAPIList) != 1 {
		t.Fatalf("reloaded config not in effect: %+v", c)
	}
	if ok, msg := verify(t, c, siteURL+"/pay/order.html"); !ok {
		t.Errorf("sandbox rejects after reload: %s", msg)
	}
	after := sandboxStats(t)
	for _, ep := range []string{"token", "stable_token", "getticket"} {
		if after[ep] != before[ep] {
			t.Errorf("reload cost %d %s calls", after[ep]-before[ep], ep)
		}
	}
}

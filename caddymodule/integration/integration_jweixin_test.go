package integration_test

import (
	"slices"
	"strings"
	"testing"
)

// Pages on Tencent's own jweixin (see jweixin_helpers_test.go): the boot
// script must keep jweixin's contract with the page's wx.ready and
// wx.error. jweixin runs its ready queue when the first wx.config
// completes, failed or not, and keeps a single error callback; the boot
// script's retry after an unannounced ticket rotation must neither let the
// page's share call run against the failed first config nor displace the
// page's own error handler (issue #12).

const sharedOK = "updateAppMessageShareData:ok"

// checkHealed asserts what a page that healed after a rotation shows: the
// bridge refused the first config and accepted the second, the page's
// wx.ready ran once, after that, and its share call worked; its wx.error
// was never called; the boot script's events say ready once and no error.
func checkHealed(t *testing.T, rec jwxRecord) {
	t.Helper()
	if got := rec.answers("preVerifyJSAPI"); len(got) != 2 || !strings.Contains(got[0], "invalid_signature") || got[1] != "preVerifyJSAPI:ok" {
		t.Errorf("want a refused and then an accepted config, the bridge answered %q", got)
	}
	if n := rec.retries(); n != 1 {
		t.Errorf("%d retries, want 1: %q", n, rec.Endpoint)
	}
	if got := rec.marks("error"); len(got) != 0 {
		t.Errorf("the page's own wx.error was called for a failure the retry healed: %q", got)
	}
	if got := rec.order(); !slices.Equal(got, []string{"ready", "share", "late ready"}) {
		t.Errorf("the page saw %v, want its wx.ready once, its share call, and a wx.ready given afterwards run at once", got)
	}
	if got := rec.marks("share"); len(got) != 1 || got[0] != sharedOK {
		t.Errorf("the page's share call in wx.ready: %q, want [%s]", got, sharedOK)
	}
	if got := rec.answers("updateAppMessageShareData"); len(got) != 1 {
		t.Errorf("the bridge saw %d share calls, want 1: %q", len(got), got)
	}
	if rec.events("ready") != 1 || rec.events("error") != 0 {
		t.Errorf("want one wechat-jssdk:ready and no wechat-jssdk:error event, got %+v", rec.Events)
	}
	if t.Failed() {
		t.Logf("record:\n%s", rec)
	}
}

// TestJweixinHealsAfterRotation: the page's own jweixin, wherever it is
// loaded, after a rotation the sidecar did not hear of.
func TestJweixinHealsAfterRotation(t *testing.T) {
	for _, tc := range []struct{ name, page, ua string }{
		{"classic page, jweixin at the end of body, Android", "/jweixin/classic.html?from=timeline", uaAndroidWeChat},
		{"classic page, jweixin at the end of body, iOS", "/jweixin/classic.html?from=timeline", uaIOSWeChat},
		{"jweixin in head before the block", "/jweixin/head.html", uaAndroidWeChat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			startJweixinSite(t, newJwxApp(), jwxOptions{})
			warmAndRotate(t)
			rec := jwxPage(t, siteURL+tc.page, tc.ua)
			checkHealed(t, rec)
		})
	}
	t.Run("sdk_url loaded by the boot script, page on the events", func(t *testing.T) {
		startJweixinSite(t, newJwxApp(), jwxOptions{})
		warmAndRotate(t)
		rec := jwxPage(t, siteURL+"/jweixin/events.html", uaAndroidWeChat)
		if got := rec.answers("preVerifyJSAPI"); len(got) != 2 || got[1] != "preVerifyJSAPI:ok" || rec.retries() != 1 {
			t.Errorf("want a refused and then, after one retry, an accepted config, the bridge answered %q", got)
		}
		if rec.events("ready") != 1 || rec.events("error") != 0 {
			t.Errorf("want one wechat-jssdk:ready and no error event, got %+v", rec.Events)
		}
		if got := rec.marks("share"); len(got) != 1 || got[0] != sharedOK {
			t.Errorf("share call after wechat-jssdk:ready: %q", got)
		}
	})
}

// TestJweixinFirstTry: no rotation — one config, verified at once, and the
// page sees what it would without the boot script's wrapping.
func TestJweixinFirstTry(t *testing.T) {
	startJweixinSite(t, newJwxApp(), jwxOptions{})
	for _, page := range []string{"/jweixin/classic.html", "/jweixin/head.html"} {
		rec := jwxPage(t, siteURL+page, uaAndroidWeChat)
		if got := rec.answers("preVerifyJSAPI"); !slices.Equal(got, []string{"preVerifyJSAPI:ok"}) {
			t.Errorf("%s: configs answered %q, want one ok", page, got)
		}
		if got := rec.order(); !slices.Equal(got, []string{"ready", "share", "late ready"}) || rec.marks("share")[0] != sharedOK {
			t.Errorf("%s: the page saw %v %q", page, got, rec.marks("share"))
		}
		if rec.events("ready") != 1 || rec.events("error") != 0 {
			t.Errorf("%s: events %+v", page, rec.Events)
		}
	}
}

// TestJweixinFailsWhenWeChatUnreachable: after a rotation with WeChat down,
// the retry cannot heal. The page's own wx.error hears the final failure
// exactly once, and its wx.ready then runs as jweixin runs it after a
// failed config (where the share call is refused).
func TestJweixinFailsWhenWeChatUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    jwxOptions
		fault   string // what makes the retry fail
		retries int
	}{
		// The refetch fails: the endpoint answers the retry with 503 (or,
		// should the store keep signing with the stale ticket, a signature
		// the bridge refuses again); either way the retry cannot heal.
		{"WeChat unreachable during the retry", jwxOptions{}, `{"outage": true}`, 1},
		{"no config endpoint: nothing to retry with", jwxOptions{noEndpoint: true}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			startJweixinSite(t, newJwxApp(), tc.opts)
			warmAndRotate(t)
			if tc.fault != "" {
				sandboxControl(t, "/sandbox/chaos", tc.fault)
				t.Cleanup(func() { sandboxControl(t, "/sandbox/chaos", "{}") })
			}
			rec := jwxPage(t, siteURL+"/jweixin/classic.html", uaAndroidWeChat)
			if n := rec.retries(); n != tc.retries {
				t.Errorf("%d retries, want %d: %q", n, tc.retries, rec.Endpoint)
			}
			if got := rec.answers("preVerifyJSAPI"); len(got) < 1 || len(got) > 1+tc.retries || slices.Contains(got, "preVerifyJSAPI:ok") {
				t.Errorf("the bridge answered %q, want only refused configs", got)
			}
			if got := rec.marks("error"); len(got) != 1 || !strings.Contains(got[0], "invalid signature") {
				t.Errorf("the page's own wx.error: %q, want one call with config:invalid signature", got)
			}
			if got := rec.order(); !slices.Equal(got, []string{"error", "ready", "share", "late ready"}) {
				t.Errorf("the page saw %v, want error, then ready (as jweixin runs it after a failed config), share, late ready", got)
			}
			if got := rec.marks("share"); len(got) != 1 || !strings.Contains(got[0], "permission denied") {
				t.Errorf("share after a failed config: %q, want permission denied", got)
			}
			if rec.events("error") != 1 || rec.events("ready") != 0 {
				t.Errorf("want one wechat-jssdk:error and no ready event, got %+v", rec.Events)
			}
			if t.Failed() {
				t.Logf("record:\n%s", rec)
			}
		})
	}
}

// TestJweixinFivePagesAfterRotation: five classic pages open at once after
// a rotation; their retries arrive together while the refetch is in flight
// (the sandbox answers every /cgi-bin call after 200 ms). All five heal,
// and the sidecar refetches once: one ticket call, and — as the rotation
// also replaced the access token, which the ticket call then rejects — one
// token call and one more ticket call. A retry that arrives while the
// refetch is in flight must be answered with the refetched ticket (the
// store's "retries join the refetch"): one answered from the stale ticket
// leaves its page with a second refused config and no retry left.
func TestJweixinFivePagesAfterRotation(t *testing.T) {
	startJweixinSite(t, newJwxApp(), jwxOptions{latency: "200ms"})
	warmAndRotate(t)
	before := sandboxStatsAt(t, jwxSandURL)
	frames := jwxFrames(t, siteURL+"/jweixin/five.html", uaAndroidWeChat)
	after := sandboxStatsAt(t, jwxSandURL)
	if len(frames) != 5 {
		t.Fatalf("%d of 5 frames reported", len(frames))
	}
	for i, rec := range frames {
		t.Run("frame "+string(rune('1'+i)), func(t *testing.T) { checkHealed(t, rec) })
	}
	tickets, tokens := after["getticket"]-before["getticket"], after["stable_token"]-before["stable_token"]
	t.Logf("five pages after a rotation: %d ticket calls, %d token calls", tickets, tokens)
	if tickets > 2 || tokens > 1 {
		t.Errorf("five retries made %d ticket and %d token calls, want one refetch (at most 2 and 1)", tickets, tokens)
	}
}

// TestJweixinHistoryModeSPA: the boot script loads jweixin from sdk_url; a
// router changes the URL with pushState. Android checks each route's URL,
// so the boot script re-signs each route; iOS checks the landing URL.
func TestJweixinHistoryModeSPA(t *testing.T) {
	const landing = "/jweixin/spa/?from=timeline"
	walk := []string{landing, "/jweixin/spa/orders?page=2&q=%E8%AE%A2%E5%8D%95", "/jweixin/spa/pay/42", "/jweixin/spa/"}
	t.Run("Android", func(t *testing.T) {
		startJweixinSite(t, newJwxApp(), jwxOptions{})
		rec := jwxPage(t, siteURL+landing, uaAndroidWeChat)
		configs := rec.answers("preVerifyJSAPI")
		if len(configs) != len(walk) {
			t.Fatalf("%d configs, want one per route (%d):\n%s", len(configs), len(walk), rec)
		}
		var routes []string
		for _, i := range rec.Invokes {
			if i.Name == "preVerifyJSAPI" {
				routes = append(routes, strings.TrimPrefix(i.URL, siteURL))
			}
		}
		if !slices.Equal(routes, walk) {
			t.Errorf("configs checked for %q, want %q", routes, walk)
		}
		for _, a := range configs {
			if a != "preVerifyJSAPI:ok" {
				t.Errorf("a route's config: %s", a)
			}
		}
		if len(rec.Endpoint) != len(walk)-1 || rec.retries() != 0 {
			t.Errorf("config endpoint calls %q, want one for each route after the landing one, no retry", rec.Endpoint)
		}
		if n := rec.events("ready"); n != len(walk) {
			t.Errorf("%d wechat-jssdk:ready events, want one per route (%d)", n, len(walk))
		}
		checkShares(t, rec, walk)
	})
	t.Run("iOS", func(t *testing.T) {
		startJweixinSite(t, newJwxApp(), jwxOptions{})
		rec := jwxPage(t, siteURL+landing, uaIOSWeChat)
		if got := rec.answers("preVerifyJSAPI"); !slices.Equal(got, []string{"preVerifyJSAPI:ok"}) {
			t.Errorf("configs %q, want the landing one only", got)
		}
		if len(rec.Endpoint) != 0 {
			t.Errorf("config endpoint calls on iOS: %q", rec.Endpoint)
		}
		checkShares(t, rec, walk)
	})
}

// checkShares asserts one successful share call on each route of walk.
func checkShares(t *testing.T, rec jwxRecord, walk []string) {
	t.Helper()
	var hrefs []string
	for _, m := range rec.Marks {
		if m.Kind == "share" {
			if m.Value != sharedOK {
				t.Errorf("share on %s: %s", m.Href, m.Value)
			}
			hrefs = append(hrefs, m.Href)
		}
	}
	if len(hrefs) != len(walk) || rec.marks("done") == nil {
		t.Errorf("share calls %d (on %q), want one per route (%d)\n%s", len(hrefs), hrefs, len(walk), rec)
	}
}

// TestJweixinChooseWXPay: wx.chooseWXPay through jweixin and the bridge,
// whose paySign check is the sandbox's: an order paid with a broken paySign
// is refused, the next one, as wechat_pay signed it, goes through.
func TestJweixinChooseWXPay(t *testing.T) {
	startJweixinSite(t, newJwxApp(), jwxOptions{})
	rec := jwxPage(t, siteURL+"/jweixin/pay.html", uaAndroidWeChat)
	pays := rec.marks("pay")
	if len(pays) != 2 || !strings.HasPrefix(pays[0], "chooseWXPay:") || pays[0] == "chooseWXPay:ok" || pays[1] != "chooseWXPay:ok" {
		t.Errorf("want the broken paySign refused and the signed one paid, got %q\n%s", pays, rec)
	}
	if got := rec.answers("getBrandWCPayRequest"); len(got) != 2 || got[1] != "get_brand_wcpay_request:ok" {
		t.Errorf("the bridge answered %q", got)
	}
	if len(rec.marks("error")) != 0 || len(rec.marks("ready")) != 1 {
		t.Errorf("page marks %v", rec.order())
	}
}

package integration_test

import (
	"slices"
	"strings"
	"testing"
)

// WeCom pages (see wecom_browser_helpers_test.go): the boot script in
// WeCom mode registers the app with @wecom/jssdk (the global ww), whose
// signature callbacks it answers from the injected block for the landing
// URL and from the config endpoint for any other; with jweixin it makes
// wx.config and then wx.agentConfig. The emulated client checks each
// signature it is given with the sandbox's verifier, for the URL WeCom's
// client checks (the current one), and refuses APIs otherwise. As for
// Official Account pages, the page's own handlers hear only what a retry
// did not heal, and a retry asks again for the signature that failed only.

const (
	agentAPIOK = "selectExternalContact:ok"
	corpAPIOK  = "checkJsApi:ok"
)

// TestWeComStaticPage: no SDK of its own; the boot script loads
// @wecom/jssdk from sdk_url and registers. WeCom 3.0.24 and later verify
// the agentConfig alone, older WeCom the config and then the agentConfig;
// on Android and iOS alike the landing URL's signatures come from the
// block, without a request to the config endpoint.
func TestWeComStaticPage(t *testing.T) {
	startWeComSite(t, newWecomCorp(), wecomOptions{})
	for _, tc := range []struct {
		name, ua string
		configs  []string
	}{
		{"WeCom 4.1 Android", uaWeComAndroid, nil},
		{"WeCom 4.1 iOS", uaWeComIOS, nil},
		{"WeCom 3.0.16: config first", uaWeComOld, []string{"preVerifyJSAPI:ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := wecomPage(t, siteURL+"/wecom/static.html?from=message", tc.ua)
			if got := rec.answers("preVerifyJSAPI"); !slices.Equal(got, tc.configs) {
				t.Errorf("configs answered %q, want %q", got, tc.configs)
			}
			if got := rec.answers("agentConfig"); !slices.Equal(got, []string{"agentConfig:ok"}) {
				t.Errorf("agentConfigs answered %q, want one ok", got)
			}
			for _, name := range []string{"preVerifyJSAPI", "agentConfig"} {
				for _, u := range rec.checkedFor(name) {
					if u != "/wecom/static.html?from=message" {
						t.Errorf("%s checked for %s", name, u)
					}
				}
			}
			if len(rec.Endpoint) != 0 {
				t.Errorf("the landing URL's signatures are in the block, yet the page asked the config endpoint: %q", rec.Endpoint)
			}
			if got := rec.order(); !slices.Equal(got, []string{"ready", "agent api", "corp api"}) {
				t.Errorf("the page saw %v", got)
			}
			if got := rec.marks("agent api"); len(got) != 1 || got[0] != agentAPIOK {
				t.Errorf("API of the app's identity: %q, want %s", got, agentAPIOK)
			}
			if got := rec.marks("corp api"); len(got) != 1 || got[0] != corpAPIOK {
				t.Errorf("API of the corp's identity: %q, want %s", got, corpAPIOK)
			}
			if rec.events("ready") != 1 || rec.events("error") != 0 {
				t.Errorf("want one wechat-jssdk:ready and no error event, got %+v", rec.Events)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("record:\n%s", rec)
			}
		})
	}
}

// TestWeComStaticPageHeals: after a rotation the site's stores did not
// hear of, both cached tickets are stale. WeCom 4.1 makes the agentConfig
// alone: refused, one retry for the agent signature only, verified. WeCom
// 3.0.16 makes the config first: refused, a retry for the config
// signature only, verified; then the agentConfig, whose signature (from
// the still stale agent ticket) is refused, a retry for it only, verified.
func TestWeComStaticPageHeals(t *testing.T) {
	for _, tc := range []struct {
		name, ua string
		configs  []string
		agents   []string
		retries  []string
	}{
		{"WeCom 4.1", uaWeComAndroid, nil, []string{"refused", "agentConfig:ok"}, []string{"agent"}},
		{"WeCom 3.0.16", uaWeComOld, []string{"refused", "preVerifyJSAPI:ok"}, []string{"refused", "agentConfig:ok"}, []string{"config", "agent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			startWeComSite(t, newWecomCorp(), wecomOptions{})
			warmAndRotateWeCom(t)
			rec := wecomPage(t, siteURL+"/wecom/static.html", tc.ua)
			checkAnswers(t, "configs", rec.answers("preVerifyJSAPI"), tc.configs)
			checkAnswers(t, "agentConfigs", rec.answers("agentConfig"), tc.agents)
			if got := rec.retriesOf(); !slices.Equal(got, tc.retries) {
				t.Errorf("retries %q, want %q: %q", got, tc.retries, rec.Endpoint)
			}
			if got := rec.marks("agent api"); len(got) != 1 || got[0] != agentAPIOK {
				t.Errorf("API of the app's identity after the ready event: %q", got)
			}
			if rec.events("ready") != 1 || rec.events("error") != 0 || len(rec.marks("error")) != 0 {
				t.Errorf("want one wechat-jssdk:ready and no error event, got %+v", rec.Events)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("record:\n%s", rec)
			}
		})
	}
}

// checkAnswers compares the bridge's answers with want, where "refused"
// stands for an invalid-signature refusal.
func checkAnswers(t *testing.T, what string, got, want []string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		if want[i] == "refused" {
			ok = strings.Contains(got[i], "invalid signature")
		} else {
			ok = got[i] == want[i]
		}
	}
	if !ok {
		t.Errorf("%s answered %q, want %q", what, got, want)
	}
}

// TestWeComOwnSDK: the page loads @wecom/jssdk at the end of its body and
// calls ww.register with its own callbacks only; the boot script, which
// saw ww the moment it was assigned, fills in the corp, the agent, the API
// lists and the signature callbacks. One handshake, not two; the page's
// callbacks hear each step once, and an API called at once, before the
// handshake ended, works (@wecom/jssdk waits for it).
func TestWeComOwnSDK(t *testing.T) {
	startWeComSite(t, newWecomCorp(), wecomOptions{})
	for _, tc := range []struct {
		name, ua string
		configs  int
	}{
		{"WeCom 4.1", uaWeComAndroid, 0},
		{"WeCom 3.0.16", uaWeComOld, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := wecomPage(t, siteURL+"/wecom/own.html", tc.ua)
			if got := rec.answers("preVerifyJSAPI"); len(got) != tc.configs || slices.ContainsFunc(got, func(s string) bool { return s != "preVerifyJSAPI:ok" }) {
				t.Errorf("configs answered %q, want %d ok", got, tc.configs)
			}
			if got := rec.answers("agentConfig"); !slices.Equal(got, []string{"agentConfig:ok"}) {
				t.Errorf("agentConfigs answered %q, want one ok", got)
			}
			checkOwnCallbacks(t, rec, tc.configs)
			if got := rec.marks("at once"); !slices.Equal(got, []string{"getContext:ok"}) {
				t.Errorf("the API called at once: %q", got)
			}
			if len(rec.Endpoint) != 0 {
				t.Errorf("config endpoint asked for the landing URL: %q", rec.Endpoint)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("record:\n%s", rec)
			}
		})
	}
}

// checkOwnCallbacks asserts what own.html's register callbacks heard: each
// success once (the config's only when a config was made), then its
// complete; no failure; and the API of the app's identity worked.
func checkOwnCallbacks(t *testing.T, rec wecomRecord, configs int) {
	t.Helper()
	want := map[string]int{"config ok": configs, "config complete": configs, "config fail": 0,
		"agentConfig ok": 1, "agentConfig complete": 1, "agentConfig fail": 0}
	for kind, n := range want {
		if got := rec.marks(kind); len(got) != n {
			t.Errorf("the page's %s callback ran %d times (%q), want %d", kind, len(got), got, n)
		}
	}
	if got := rec.marks("agent api"); !slices.Equal(got, []string{agentAPIOK}) {
		t.Errorf("API of the app's identity in onAgentConfigSuccess: %q", got)
	}
	if rec.events("ready") != 1 || rec.events("error") != 0 {
		t.Errorf("want one wechat-jssdk:ready and no error event, got %+v", rec.Events)
	}
}

// TestWeComOwnSDKHeals: the page's own register callbacks after a
// rotation, on WeCom 3.0.16 (config, then agentConfig, both stale): they
// hear one success of each and no failure. The API the page called at once
// shares the fate of the first handshake, as it would without the boot
// script (@wecom/jssdk answers it with that handshake's failure).
func TestWeComOwnSDKHeals(t *testing.T) {
	startWeComSite(t, newWecomCorp(), wecomOptions{})
	warmAndRotateWeCom(t)
	rec := wecomPage(t, siteURL+"/wecom/own.html", uaWeComOld)
	checkAnswers(t, "configs", rec.answers("preVerifyJSAPI"), []string{"refused", "preVerifyJSAPI:ok"})
	checkAnswers(t, "agentConfigs", rec.answers("agentConfig"), []string{"refused", "agentConfig:ok"})
	if got := rec.retriesOf(); !slices.Equal(got, []string{"config", "agent"}) {
		t.Errorf("retries %q, want [config agent]", got)
	}
	checkOwnCallbacks(t, rec, 1)
	t.Logf("the API called at once: %q", rec.marks("at once"))
	if t.Failed() || testing.Verbose() {
		t.Logf("record:\n%s", rec)
	}
}

// TestWeComHistoryModeSPA: a router changes the URL with pushState; at the
// next API call @wecom/jssdk asks for the signatures of the new URL, which
// the boot script gets from the config endpoint: one request per route,
// even where WeCom 3.0.16 asks for both signatures at once.
func TestWeComHistoryModeSPA(t *testing.T) {
	const landing = "/wecom/spa/?from=message"
	walk := []string{landing, "/wecom/spa/orders?page=2&q=%E8%AE%A2%E5%8D%95", "/wecom/spa/pay/42", "/wecom/spa/"}
	startWeComSite(t, newWecomCorp(), wecomOptions{})
	for _, tc := range []struct {
		name, ua string
		configs  bool
	}{
		{"WeCom 4.1 Android", uaWeComAndroid, false},
		{"WeCom 4.1 iOS", uaWeComIOS, false},
		{"WeCom 3.0.16", uaWeComOld, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := wecomPage(t, siteURL+landing, tc.ua)
			if got := rec.checkedFor("agentConfig"); !slices.Equal(got, walk) {
				t.Errorf("agentConfigs checked for %q, want %q", got, walk)
			}
			for _, a := range rec.answers("agentConfig") {
				if a != "agentConfig:ok" {
					t.Errorf("agentConfig answered %q", a)
				}
			}
			var configs []string
			if tc.configs {
				configs = walk
			}
			if got := rec.checkedFor("preVerifyJSAPI"); !slices.Equal(got, configs) {
				t.Errorf("configs checked for %q, want %q", got, configs)
			}
			for _, a := range rec.answers("preVerifyJSAPI") {
				if a != "preVerifyJSAPI:ok" {
					t.Errorf("config answered %q", a)
				}
			}
			if len(rec.Endpoint) != len(walk)-1 || len(rec.retriesOf()) != 0 {
				t.Errorf("config endpoint asked %q, want once for each route after the landing one", rec.Endpoint)
			}
			if got := rec.marks("agent api"); len(got) != len(walk) || slices.ContainsFunc(got, func(s string) bool { return s != agentAPIOK }) {
				t.Errorf("API of the app's identity on each route: %q", got)
			}
			if got := rec.order(); len(got) == 0 || got[len(got)-1] != "done" {
				t.Errorf("the router did not finish: %v", got)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("record:\n%s", rec)
			}
		})
	}
}

// TestWeComJweixinJwxwork: the page loads jweixin and jwxwork and uses
// wx.ready / wx.error; the boot script calls wx.config (beta, the corp's
// signature) and, once it verified, wx.agentConfig (the app's), and runs
// the page's wx.ready after both. After a rotation each is refused once
// and retried alone (retry=1 is the config's, retry=agent the
// agentConfig's), and the page never hears of it.
func TestWeComJweixinJwxwork(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rotate  bool
		configs []string
		agents  []string
		retries []string
	}{
		{"first try", false, []string{"preVerifyJSAPI:ok"}, []string{"agentConfig:ok"}, nil},
		{"after a rotation", true, []string{"refused", "preVerifyJSAPI:ok"}, []string{"refused", "agentConfig:ok"}, []string{"1", "agent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			startWeComSite(t, newWecomCorp(), wecomOptions{})
			if tc.rotate {
				warmAndRotateWeCom(t)
			}
			rec := wecomPage(t, siteURL+"/wecom/jwxwork.html", uaWeComAndroid)
			checkAnswers(t, "configs", rec.answers("preVerifyJSAPI"), tc.configs)
			checkAnswers(t, "agentConfigs", rec.answers("agentConfig"), tc.agents)
			if got := rec.retriesOf(); !slices.Equal(got, tc.retries) {
				t.Errorf("retries %q, want %q", got, tc.retries)
			}
			if got := rec.order(); !slices.Equal(got, []string{"ready", "agent api", "late ready"}) {
				t.Errorf("the page saw %v, want its wx.ready once (after the agentConfig), the app's API, and a late wx.ready run at once", got)
			}
			if got := rec.marks("agent api"); !slices.Equal(got, []string{agentAPIOK}) {
				t.Errorf("API of the app's identity in wx.ready: %q", got)
			}
			if rec.events("ready") != 1 || rec.events("error") != 0 {
				t.Errorf("want one wechat-jssdk:ready and no error event, got %+v", rec.Events)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("record:\n%s", rec)
			}
		})
	}
}

// TestWeComFailsWhenWeChatUnreachable: after a rotation, with WeCom's API
// down, the agent signature's retry cannot heal: the page's own
// onAgentConfigFail hears the refusal once (and complete after it), the
// boot script's error event says so once, and nothing says ready.
func TestWeComFailsWhenWeChatUnreachable(t *testing.T) {
	startWeComSite(t, newWecomCorp(), wecomOptions{})
	warmAndRotateWeCom(t)
	sandboxControl(t, "/sandbox/chaos", `{"outage": true}`)
	t.Cleanup(func() { sandboxControl(t, "/sandbox/chaos", "{}") })
	rec := wecomPage(t, siteURL+"/wecom/own.html", uaWeComAndroid)
	if got := rec.retriesOf(); !slices.Equal(got, []string{"agent"}) {
		t.Errorf("retries %q, want [agent]", got)
	}
	if got := rec.answers("agentConfig"); len(got) < 1 || slices.Contains(got, "agentConfig:ok") {
		t.Errorf("the bridge answered %q, want only refusals", got)
	}
	if got := rec.marks("agentConfig fail"); len(got) != 1 || !strings.Contains(got[0], "invalid signature") {
		t.Errorf("the page's onAgentConfigFail: %q, want one call with the refusal", got)
	}
	if got := rec.marks("agentConfig complete"); len(got) != 1 {
		t.Errorf("the page's onAgentConfigComplete: %q, want one call", got)
	}
	if n := len(rec.marks("agentConfig ok")) + len(rec.marks("agent api")); n != 0 {
		t.Errorf("success reported after a failed agentConfig: %v", rec.order())
	}
	if rec.events("error") != 1 || rec.events("ready") != 0 {
		t.Errorf("want one wechat-jssdk:error and no ready event, got %+v", rec.Events)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("record:\n%s", rec)
	}
}

// TestWeComBundledSDK: a page imports @wecom/jssdk as a module (no global
// ww) and hands it to __wechatJSSDK.register with its callbacks. The boot
// script registers that copy and loads no sdk_url (the module ran before
// the document finished parsing); after a rotation it heals as for the
// global ww.
func TestWeComBundledSDK(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		name := "first try"
		if rotate {
			name = "after a rotation"
		}
		t.Run(name, func(t *testing.T) {
			startWeComSite(t, newWecomCorp(), wecomOptions{})
			if rotate {
				warmAndRotateWeCom(t)
			}
			rec := wecomPage(t, siteURL+"/wecom/bundle.html", uaWeComAndroid)
			want := []string{"agentConfig:ok"}
			if rotate {
				want = []string{"refused", "agentConfig:ok"}
			}
			checkAnswers(t, "agentConfigs", rec.answers("agentConfig"), want)
			if got := rec.marks("global ww"); !slices.Equal(got, []string{"undefined"}) {
				t.Errorf("window.ww in the module: %q, want undefined (the test proves nothing otherwise)", got)
			}
			if got := rec.order(); !slices.Equal(got, []string{"global ww", "agentConfig ok", "agent api"}) {
				t.Errorf("the page saw %v", got)
			}
			if got := rec.marks("agent api"); !slices.Equal(got, []string{agentAPIOK}) {
				t.Errorf("API of the app's identity: %q", got)
			}
			if rec.events("ready") != 1 || rec.events("error") != 0 {
				t.Errorf("want one wechat-jssdk:ready and no error event, got %+v", rec.Events)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("record:\n%s", rec)
			}
		})
	}
}

// TestWeComJweixinSPA: jweixin + jwxwork in a history-mode app, on WeCom
// for iOS: unlike WeChat's iOS client, WeCom's checks the current URL, so
// the boot script re-signs every route, both signatures.
func TestWeComJweixinSPA(t *testing.T) {
	walk := []string{"/wecom/jwxspa.html?from=message", "/wecom/jwxspa/orders?page=2", "/wecom/jwxspa/pay/42", "/wecom/jwxspa/"}
	startWeComSite(t, newWecomCorp(), wecomOptions{})
	rec := wecomPage(t, siteURL+walk[0], uaWeComIOS)
	for _, name := range []string{"preVerifyJSAPI", "agentConfig"} {
		if got := rec.checkedFor(name); !slices.Equal(got, walk) {
			t.Errorf("%s checked for %q, want %q", name, got, walk)
		}
		for _, a := range rec.answers(name) {
			if a != name+":ok" {
				t.Errorf("%s answered %q", name, a)
			}
		}
	}
	if got := rec.marks("agent api"); len(got) != len(walk) || slices.ContainsFunc(got, func(s string) bool { return s != agentAPIOK }) {
		t.Errorf("API of the app's identity on each route: %q", got)
	}
	if got := rec.order(); len(got) == 0 || got[len(got)-1] != "done" {
		t.Errorf("the router did not finish: %v", got)
	}
	if rec.events("ready") != len(walk) || rec.events("error") != 0 {
		t.Errorf("want a wechat-jssdk:ready per route and no error, got %+v", rec.Events)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("record:\n%s", rec)
	}
}

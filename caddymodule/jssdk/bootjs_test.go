package jssdk

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The boot script runs in old Android WebViews: ES5 only. A parser would be
// a dependency; these are the constructs that slip in by habit.
func TestBootScriptIsES5(t *testing.T) {
	for _, src := range map[string]string{"boot.js": bootJS} {
		for name, re := range map[string]*regexp.Regexp{
			"arrow function":   regexp.MustCompile(`=>`),
			"let/const":        regexp.MustCompile(`\b(let|const)\s`),
			"template literal": regexp.MustCompile("`"),
			"class":            regexp.MustCompile(`\bclass\s+\w`),
			"spread/rest":      regexp.MustCompile(`\.\.\.`),
			"for-of":           regexp.MustCompile(`for\s*\([^)]*\bof\b`),
			"default param":    regexp.MustCompile(`function\s*\w*\([^)]*=`),
		} {
			if loc := re.FindStringIndex(src); loc != nil {
				t.Errorf("boot.js uses %s: %q", name, src[max(0, loc[0]-20):min(len(src), loc[1]+20)])
			}
		}
	}
}

func TestBootScriptFolded(t *testing.T) {
	h := &Handler{AppID: "wx0123456789abcdef", SDKURL: DefaultSDKURL, ConfigEndpoint: "/cfg"}
	tmpl, err := templateFor(h)
	if err != nil {
		t.Fatal(err)
	}
	js := strings.TrimSuffix(strings.TrimPrefix(tmpl.boot, `}</script><script id="wechat-jssdk-boot">`), "</script>")
	if strings.Contains(js, "\t") || strings.Contains(js, "\n//") || strings.HasPrefix(js, "//") {
		t.Errorf("indentation or comments left in the injected script:\n%s", js)
	}
	if !strings.Contains(js, `ep = "/cfg"`) || strings.Contains(js, "CONFIG_ENDPOINT") || strings.Contains(js, "SDK_URL") {
		t.Errorf("placeholders not filled:\n%s", js)
	}
	if len(js) > 4400 {
		t.Errorf("boot script grew to %d bytes; README states its size", len(js))
	}
}

// TestBootScriptWeComPart: the lines between "// wecom {" and "// } wecom"
// go into WeCom pages only. An Official Account page gets none of them
// (nor a marker), a WeCom page all of them, folded like the rest; the
// markers pair up, so that stripping cannot swallow Official Account code.
func TestBootScriptWeComPart(t *testing.T) {
	open := regexp.MustCompile(`(?m)^\t*// wecom \{$`)
	closing := regexp.MustCompile(`(?m)^\t*// \} wecom$`)
	opens, closes := open.FindAllStringIndex(bootJS, -1), closing.FindAllStringIndex(bootJS, -1)
	if len(opens) == 0 || len(opens) != len(closes) {
		t.Fatalf("%d // wecom { and %d // } wecom markers", len(opens), len(closes))
	}
	for i := range opens {
		if opens[i][0] > closes[i][0] || (i+1 < len(opens) && opens[i+1][0] < closes[i][0]) {
			t.Fatalf("wecom markers nested or out of order at byte %d", opens[i][0])
		}
	}
	if strings.Count(bootJS, "wecom {") != len(opens) || strings.Count(bootJS, "} wecom") != len(closes) {
		t.Fatal("a wecom marker that is not alone on its line")
	}

	oa, err := newBlockTemplate(blockOptions{appID: "wx0123456789abcdef", sdkURL: DefaultSDKURL, configEndpoint: "/cfg"})
	if err != nil {
		t.Fatal(err)
	}
	wc, err := newBlockTemplate(blockOptions{appID: "ww0123456789abcdef", sdkURL: DefaultWeComSDKURL, configEndpoint: "/cfg", wecom: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, word := range []string{"agentConfig", "wxwork", "wecom", "ensureConfigReady", "beta"} {
		if strings.Contains(oa.boot, word) {
			t.Errorf("the Official Account's boot script has %q of the WeCom part", word)
		}
	}
	for _, word := range []string{"agentConfig", "wxwork", "ensureConfigReady", "beta: true", `trap("ww")`} {
		if !strings.Contains(wc.boot, word) {
			t.Errorf("the WeCom boot script lacks %q", word)
		}
	}
	js := strings.TrimSuffix(strings.TrimPrefix(wc.boot, `}</script><script id="wechat-jssdk-boot">`), "</script>")
	if strings.Contains(js, "\t") || strings.Contains(js, "\n//") || strings.Contains(js, "CONFIG_ENDPOINT") {
		t.Errorf("the WeCom boot script is not folded or not filled in:\n%s", js)
	}
	if !strings.Contains(js, strconv.Quote(DefaultWeComSDKURL)) {
		t.Errorf("sdk_url not in the WeCom boot script")
	}
	if len(js) > 8500 {
		t.Errorf("the WeCom boot script grew to %d bytes; README states its size", len(js))
	}
	if wc.csp.bootHash == oa.csp.bootHash {
		t.Error("the two variants share a CSP hash")
	}
}

// TestWeComDefaultSDKURL: WeCom's client does not support jweixin 1.6.0,
// the Official Account's default; WeCom mode loads @wecom/jssdk instead,
// and a written sdk_url stays as written.
func TestWeComDefaultSDKURL(t *testing.T) {
	oa := validHandler()
	oa.applyDefaults()
	w := validWeCom()
	w.applyDefaults()
	if oa.SDKURL != DefaultSDKURL || w.SDKURL != DefaultWeComSDKURL {
		t.Errorf("default sdk_url: Official Account %q, WeCom %q", oa.SDKURL, w.SDKURL)
	}
	w = validWeCom()
	w.SDKURL = "/js/jweixin-wecom.js"
	w.applyDefaults()
	if w.SDKURL != "/js/jweixin-wecom.js" {
		t.Errorf("a written sdk_url became %q", w.SDKURL)
	}
}

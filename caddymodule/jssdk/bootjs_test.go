package jssdk

import (
	"regexp"
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

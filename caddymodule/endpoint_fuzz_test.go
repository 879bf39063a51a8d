package caddymodule

import (
	"strings"
	"testing"
)

// FuzzSplitPageURL: an accepted page URL splits into a lower-case origin
// without a default port and a path kept byte for byte from the input.
func FuzzSplitPageURL(f *testing.F) {
	for _, s := range []string{"http://example.com/p?q=1", "HTTPS://Ex.COM:443/a%20b", "http://[::1]:8080/",
		"http://a@b/", "javascript:alert(1)", "http://x?y", "https://例子.测试/路径?q=中"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		origin, rest, ok := splitPageURL(raw)
		if !ok {
			return
		}
		if !strings.HasPrefix(rest, "/") || !strings.HasSuffix(raw, rest) {
			t.Fatalf("rest %q is not the input's path and query (%q)", rest, raw)
		}
		if origin != strings.ToLower(origin) || strings.HasSuffix(origin, ":443") && strings.HasPrefix(origin, "https:") ||
			strings.HasSuffix(origin, ":80") && strings.HasPrefix(origin, "http:") {
			t.Fatalf("origin %q not normalized", origin)
		}
		if !strings.HasPrefix(origin, "http://") && !strings.HasPrefix(origin, "https://") {
			t.Fatalf("origin %q has another scheme", origin)
		}
		if o2, r2, ok2 := splitPageURL(origin + rest); !ok2 || o2 != origin || r2 != rest {
			t.Fatalf("not stable: %q -> %q %q -> %q %q %v", raw, origin, rest, o2, r2, ok2)
		}
	})
}

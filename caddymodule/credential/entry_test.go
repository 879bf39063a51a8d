package credential

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// TestEntryFormatRedacts: an entry printed by mistake shows no credential.
func TestEntryFormatRedacts(t *testing.T) {
	const secret = "TICKET-IN-ENTRY-5d1c"
	e := newEntry(wechat.Credential{Value: secret, ExpiresIn: time.Hour}, newClock().Now())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{e, &e, struct{ E entry }{e}} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
				t.Errorf("%s: %q leaks the value", verb, out)
			}
		}
	}
	if got := e.GoString(); strings.Contains(got, secret) || !strings.Contains(got, "REDACTED") {
		t.Errorf("GoString() = %q", got)
	}
}

package wechat

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3v"}

func TestCredentialFormatRedacts(t *testing.T) {
	cred := Credential{Value: testTicket, ExpiresIn: 2 * time.Hour}
	values := map[string]any{
		"value":   cred,
		"pointer": &cred,
		"slice":   []Credential{cred},
		"map":     map[string]Credential{"k": cred},
		"struct":  struct{ C Credential }{cred},
	}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testTicket) || strings.Contains(out, fmt.Sprintf("%x", testTicket)) {
				t.Errorf("%s %s: %q leaks the value", name, verb, out)
			}
		}
	}
	if got := cred.String(); !strings.Contains(got, "2h0m0s") || !strings.Contains(got, "REDACTED") {
		t.Errorf("String() = %q, want the lifetime and a redaction mark", got)
	}
	if got := cred.GoString(); strings.Contains(got, testTicket) {
		t.Errorf("GoString() = %q leaks the value", got)
	}
	if got := (Credential{}).String(); strings.Contains(got, "REDACTED") {
		t.Errorf("String() of an empty credential = %q, want it shown empty", got)
	}
}

func TestAppFormatRedacts(t *testing.T) {
	app := App{AppID: testAppID, Secret: testSecret}
	for _, v := range []any{app, &app, []App{app}, struct{ A *App }{&app}} {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testSecret) || strings.Contains(out, fmt.Sprintf("%x", testSecret)) {
				t.Errorf("%s: %q leaks the secret", verb, out)
			}
		}
	}
	if got := app.GoString(); strings.Contains(got, testSecret) {
		t.Errorf("GoString() = %q leaks the secret", got)
	}
	if got := (App{Classic: true}).String(); !strings.Contains(got, "Source:token") {
		t.Errorf("String() = %q, want the token source named", got)
	}
	if got := app.String(); !strings.Contains(got, testAppID) {
		t.Errorf("String() = %q, want the appid", got)
	}
}

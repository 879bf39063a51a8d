package credential

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// TestLogOncePerCause: a cause repeated in a row logs once; a new cause
// logs again; recovery logs once.
func TestLogOncePerCause(t *testing.T) {
	codes := []int{-1, -1, -1, 45011, 40013, 40013, 0}
	h := newHarness(t, &fakeSource{ticket: func(n int, _ string) (wechat.Credential, error) {
		if code := codes[n-1]; code != 0 {
			return wechat.Credential{}, apiErr(wechat.PathTicket, code)
		}
		return wechat.Credential{Value: "TICKET-OK", ExpiresIn: lifetime}, nil
	}})
	for range codes {
		_, _ = h.ticket(t)
		h.clock.Advance(10 * time.Minute) // past any window
	}
	h.src.wantCalls(t, 1, len(codes), 0)

	type line struct {
		level   zapcore.Level
		errcode int64
	}
	var got []line
	for _, e := range h.logs.All() {
		if e.Level >= zapcore.InfoLevel {
			code, _ := e.ContextMap()["errcode"].(int64)
			got = append(got, line{e.Level, code})
		}
	}
	want := []line{
		{zapcore.WarnLevel, -1},
		{zapcore.WarnLevel, 45011},
		{zapcore.ErrorLevel, 40013},
		{zapcore.InfoLevel, 40013}, // recovered, after 40013
	}
	if !slices.Equal(got, want) {
		t.Errorf("log lines at Info and above: %v, want %v", got, want)
	}
	if n := h.logs.FilterMessageSnippet("still cannot").Len(); n != 3 {
		t.Errorf("%d repeated-cause lines at Debug, want 3", n)
	}
}

// TestNoSecretsInLogs runs through fetches, a cured 40001, a forced token,
// failures, a refresh ahead and a recovery, then looks for every credential
// handed out in every log line, at every level.
func TestNoSecretsInLogs(t *testing.T) {
	src, rejected, current := rotatingSource()
	h := newHarness(t, src)
	h.mustTicket(t, "") // cured with force_refresh
	h.clock.Advance(21 * time.Second)
	rejected[*current] = true
	_, _ = h.ticket(t) // fails: invalid token, force not allowed yet
	src.ticket = func(n int, tok string) (wechat.Credential, error) {
		if n%2 == 0 {
			return wechat.Credential{}, apiErr(wechat.PathTicket, 45011)
		}
		return wechat.Credential{Value: fmt.Sprintf("TICKET-%d-%s", n, tok), ExpiresIn: 400 * time.Second}, nil
	}
	for range 6 {
		h.clock.Advance(2 * time.Minute)
		_, _ = h.ticket(t)
		h.idle()
	}

	src.mu.Lock()
	issued := slices.Clone(src.issued)
	src.mu.Unlock()
	if len(issued) < 6 || h.logs.Len() < 10 {
		t.Fatalf("scenario too thin: %d credentials issued, %d log lines", len(issued), h.logs.Len())
	}
	levels := map[zapcore.Level]bool{}
	for _, e := range h.logs.All() {
		levels[e.Level] = true
		text := e.Message + " " + e.LoggerName + " " + fmt.Sprint(e.ContextMap())
		for _, v := range issued {
			if strings.Contains(text, v) {
				t.Errorf("%s line %q leaks credential %q", e.Level, text, v)
			}
		}
	}
	for _, l := range []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel} {
		if !levels[l] {
			t.Errorf("no %s line: the scenario should log at every level", l)
		}
	}
}

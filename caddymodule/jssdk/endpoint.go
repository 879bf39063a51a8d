package jssdk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/bodyrewrite"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
)

// serveConfig answers the config endpoint: GET <path>?url=<page URL> with
// the wx.config object for that URL. It signs only URLs on the origin the
// request came from (the same rule as page injection), so it cannot be used
// to sign pages of other sites with this app's ticket.
func (p *pageSigner) serveConfig(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed: use GET")
		return
	}
	q := origin.OriginalQuery(r)
	raw := q.Get("url")
	if raw == "" {
		writeJSONError(w, http.StatusBadRequest, "missing url parameter")
		return
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i] // WeChat checks location.href without the fragment
	}
	pageOrigin, rest, ok := splitPageURL(raw)
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "url is not an absolute http(s) page URL")
		return
	}
	want := p.origin
	if want == "" {
		own, err := origin.AppendChecked(nil, r)
		if err != nil {
			p.problem(causeEndpointHostPort, r)
			writeJSONError(w, http.StatusForbidden, "the request's Host names another port than the one it arrived on")
			return
		}
		want = string(own)
	}
	if pageOrigin != want {
		writeJSONError(w, http.StatusForbidden, "url is not on this site's origin")
		return
	}
	// One deadline for the retry and the signature: a retry waits for the
	// refetch of the rejected ticket (and the store has already stopped
	// signing with it), so two separate waits could take twice as long.
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	// The page's last signature was rejected: the ticket may have been
	// rotated behind our back. The store refetches it once per ticket
	// whatever the number of pages asking; concurrent retries wait for
	// that refetch and sign with its ticket. A refused or failed refetch
	// leaves the current ticket, if any, to sign with.
	p.retry(ctx, q.Get("retry"))
	ticket, agentTicket, err := p.tickets(ctx)
	if err != nil {
		msg := "no jsapi_ticket available"
		var te *weComTicketError
		if errors.As(err, &te) {
			msg = "no ticket available: " + te.what
		}
		writeJSONError(w, http.StatusServiceUnavailable, msg)
		return
	}
	pageURL := want + rest
	var body []byte
	if p.wecom != nil {
		body = p.wecom.appendConfig(make([]byte, 0, 1024), ticket, agentTicket, pageURL, time.Now())
	} else {
		body = p.tmpl.appendConfig(make([]byte, 0, 512), ticket, pageURL, time.Now())
	}
	body = append(body, '}')
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// splitPageURL splits an absolute page URL into its origin, normalized the
// way location.href shows it, and the rest (path and query) byte for byte.
func splitPageURL(raw string) (pageOrigin, rest string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", "", false
	}
	i := strings.Index(raw, "://") + 3
	j := strings.IndexAny(raw[i:], "/?")
	if j < 0 {
		return "", "", false
	}
	rest = raw[i+j:]
	if rest[0] != '/' {
		return "", "", false // browsers always show a path
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + origin.StripDefaultPort(scheme, strings.ToLower(u.Host)), rest, true
}

// retry treats as suspect the tickets whose signatures the retry
// parameter reports rejected (RefreshTicket), and returns once their
// refetches end or ctx is done. Its value is a comma-separated list:
//
//	1       the page's wx.config signature (the only one of an Official Account)
//	config  the same: wx.config's, signed with the jsapi_ticket (WeCom: the corp's)
//	agent   wx.agentConfig's, signed with the WeCom app's agent_config ticket
//
// ("config,agent" reports both). Other values, and agent for an Official
// Account, are ignored, as any value but 1 always was.
func (p *pageSigner) retry(ctx context.Context, v string) {
	if v == "" {
		return
	}
	var config, agent bool
	for _, f := range strings.Split(v, ",") {
		switch strings.TrimSpace(f) {
		case "1", "config":
			config = true
		case "agent":
			agent = p.agent != nil
		}
	}
	switch {
	case config && agent:
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = p.agent.RefreshTicket(ctx)
		}()
		_ = p.store.RefreshTicket(ctx)
		<-done
	case config:
		_ = p.store.RefreshTicket(ctx)
	case agent:
		_ = p.agent.RefreshTicket(ctx)
	}
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.WriteHeader(status)
	b := append([]byte(`{"error":`), bodyrewrite.AppendJSONString(nil, msg)...)
	_, _ = w.Write(append(b, '}'))
}

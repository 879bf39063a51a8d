package jssdk

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Metrics, all named caddy_wechat_*. They appear on Caddy's /metrics (the
// admin endpoint, or the metrics handler). Labels carry app IDs, endpoint
// names and result classes, never a secret, token or ticket.
//
// The collectors are created once for the process; Caddy gives every
// config a fresh registry, so each Provision registers them again,
// tolerating prometheus.AlreadyRegisteredError from the handlers provisioned
// before it in the same config.
var (
	// injections counts what the handler did with each response it saw.
	injections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "wechat",
		Name:      "injections_total",
		Help: "Responses seen by wechat_jssdk, by result: injected; passed (untouched) with reason " +
			"not_html (not a 2xx identity HTML page), request (HEAD, upgrade, other methods), no_ticket " +
			"(on_error pass) or host_port (the Host names another port than the request arrived on); " +
			"failed (on_error fail answered 503).",
	}, []string{"result", "reason"})

	// The label sets of the hot path, resolved once.
	injectedPage     = injections.WithLabelValues("injected", "ok")
	passedNotHTML    = injections.WithLabelValues("passed", "not_html")
	passedRequest    = injections.WithLabelValues("passed", "request")
	passedNoTicket   = injections.WithLabelValues("passed", "no_ticket")
	passedHostPort   = injections.WithLabelValues("passed", "host_port")
	failedNoTicket   = injections.WithLabelValues("failed", "no_ticket")
	storeMetricsColl = storeCollector{}
)

// The per-app metrics, read from the live stores when scraped.
var (
	descAPICalls = prometheus.NewDesc("caddy_wechat_api_calls_total",
		"Calls to WeChat (or the token service) by endpoint (stable_token, token, token_service, getticket; "+
			"for a WeCom app, whose app_id is <corp_id>/<agent_id>: gettoken, get_jsapi_ticket, ticket_get_agent_config) "+
			"and result: ok, or the failure's class (retryable, invalid_token, config, quota, ip_whitelist, unknown).",
		[]string{"app_id", "endpoint", "result"}, nil)
	descExpiry = prometheus.NewDesc("caddy_wechat_credential_expiry_seconds",
		"Seconds until the cached credential (token or ticket; corp_ticket and agent_ticket for a WeCom app) "+
			"expires by WeChat's expires_in; negative once expired.",
		[]string{"app_id", "credential"}, nil)
	descBudget = prometheus.NewDesc("caddy_wechat_ticket_budget_per_hour",
		"The most ticket calls a store makes in any hour (corp_ticket_budget, agent_ticket_budget), by ticket: "+
			"corp (get_jsapi_ticket) or agent (ticket_get_agent_config). WeCom apps only.",
		[]string{"app_id", "ticket"}, nil)
	descBudgetUsed = prometheus.NewDesc("caddy_wechat_ticket_calls_last_hour",
		"Ticket calls made in the last hour, by ticket (corp, agent), against caddy_wechat_ticket_budget_per_hour. WeCom apps only.",
		[]string{"app_id", "ticket"}, nil)
	descBudgetRefusals = prometheus.NewDesc("caddy_wechat_ticket_budget_refusals_total",
		"Ticket calls (and suspect-ticket refetches) not made because they would have exceeded the hourly budget, "+
			"by ticket (corp, agent); the cached ticket was served meanwhile. WeCom apps only.",
		[]string{"app_id", "ticket"}, nil)
	descServedStale = prometheus.NewDesc("caddy_wechat_tickets_served_stale_total",
		"Tickets served past their safety margin, but before WeChat's expiry, because no fresh one could be had.",
		[]string{"app_id"}, nil)
	descL2Reads = prometheus.NewDesc("caddy_wechat_l2_reads_total",
		"Reads of the shared storage (L2) by result: hit (a usable credential), miss, error.",
		[]string{"app_id", "result"}, nil)
	descL2Locks = prometheus.NewDesc("caddy_wechat_l2_lock_waits_total",
		"Waits for the shared refresh lock by result: acquired, timeout (gave up after the bounded wait), "+
			"error (storage failed; refreshed without the lock).",
		[]string{"app_id", "result"}, nil)
	descL2LockSeconds = prometheus.NewDesc("caddy_wechat_l2_lock_wait_seconds_total",
		"Time spent waiting for the shared refresh lock.",
		[]string{"app_id"}, nil)
	descL2Errors = prometheus.NewDesc("caddy_wechat_l2_errors_total",
		"Failed shared storage operations by op (load, store, lock, unlock); each fell back to this instance's own cache and fetch.",
		[]string{"app_id", "op"}, nil)
)

// registerMetrics registers the collectors with a config's registry.
func registerMetrics(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{injections, storeMetricsColl} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

// storeCollector reports the live stores' counters at scrape time, so that
// the store keeps one set of counts (the one the admin API shows too).
// Stores of the same app (another api_base, another token source) are
// summed; expiries take the latest.
type storeCollector struct{}

// Describe implements prometheus.Collector.
func (storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAPICalls, descExpiry, descServedStale, descL2Reads, descL2Locks, descL2LockSeconds, descL2Errors,
		descBudget, descBudgetUsed, descBudgetRefusals} {
		ch <- d
	}
}

// series is one sample being summed: its description and label values.
type series struct {
	desc   *prometheus.Desc
	labels [3]string
}

// Collect implements prometheus.Collector.
func (storeCollector) Collect(ch chan<- prometheus.Metric) {
	sums := make(map[series]float64)
	var order []series
	add := func(d *prometheus.Desc, v float64, labels ...string) {
		k := series{desc: d}
		copy(k.labels[:], labels)
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k] += v
	}
	expiries := make(map[series]time.Time)
	var expOrder []series
	latest := func(app, cred string, at time.Time) {
		if at.IsZero() {
			return
		}
		k := series{desc: descExpiry, labels: [3]string{app, cred}}
		cur, ok := expiries[k]
		if !ok {
			expOrder = append(expOrder, k)
		}
		if !ok || at.After(cur) {
			expiries[k] = at
		}
	}
	for _, e := range liveStores() {
		st := e.store.Stats()
		for _, class := range wechat.Classes() {
			add(descAPICalls, float64(st.TokenCalls[class]), e.appID, e.tokenEndpoint, class.String())
			add(descAPICalls, float64(st.TicketCalls[class]), e.appID, "getticket", class.String())
		}
		add(descServedStale, float64(st.ServedStale), e.appID)
		latest(e.appID, "token", st.TokenExpiresAt)
		latest(e.appID, "ticket", st.TicketExpiresAt)
		if sh := st.Shared; sh != nil {
			addShared(add, e.appID, sh)
		}
	}
	gauges := make(map[series]float64)
	var gaugeOrder []series
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		k := series{desc: d}
		copy(k.labels[:], labels)
		if _, ok := gauges[k]; !ok {
			gaugeOrder = append(gaugeOrder, k)
		}
		gauges[k] += v
	}
	for _, e := range liveWeComs() {
		app := e.label()
		tok := e.wecom.TokenStats()
		for _, class := range wechat.Classes() {
			add(descAPICalls, float64(tok.Calls[class]), app, endpointWeComToken, class.String())
		}
		latest(app, "token", tok.ExpiresAt)
		if tok.Shared != nil {
			addShared(add, app, tok.Shared)
		}
		for _, t := range []struct {
			store                       *credential.Store
			endpoint, label, credential string
		}{
			{e.wecom.Corp, endpointWeComCorpTicket, "corp", "corp_ticket"},
			{e.wecom.Agent, endpointWeComAgentTicket, "agent", "agent_ticket"},
		} {
			st := t.store.Stats()
			for _, class := range wechat.Classes() {
				add(descAPICalls, float64(st.TicketCalls[class]), app, t.endpoint, class.String())
			}
			add(descServedStale, float64(st.ServedStale), app)
			add(descBudgetRefusals, float64(st.BudgetRefusals), app, t.label)
			gauge(descBudget, float64(st.TicketBudget), app, t.label)
			gauge(descBudgetUsed, float64(st.TicketCallsLastHour), app, t.label)
			latest(app, t.credential, st.TicketExpiresAt)
			if sh := st.Shared; sh != nil {
				addShared(add, app, sh)
			}
		}
	}
	for _, k := range order {
		n := 1
		switch k.desc {
		case descAPICalls:
			n = 3
		case descL2Reads, descL2Locks, descL2Errors, descBudgetRefusals:
			n = 2
		}
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.CounterValue, sums[k], k.labels[:n]...)
	}
	for _, k := range gaugeOrder {
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.GaugeValue, gauges[k], k.labels[:2]...)
	}
	now := time.Now()
	for _, k := range expOrder {
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.GaugeValue, expiries[k].Sub(now).Seconds(), k.labels[:2]...)
	}
}

// addShared adds one store's L2 counters.
func addShared(add func(*prometheus.Desc, float64, ...string), app string, sh *credential.SharedStats) {
	add(descL2Reads, float64(sh.Hits), app, "hit")
	add(descL2Reads, float64(sh.Misses), app, "miss")
	add(descL2Reads, float64(sh.Errors[credential.OpLoad]), app, "error")
	add(descL2Locks, float64(sh.LocksAcquired), app, "acquired")
	add(descL2Locks, float64(sh.LockTimeouts), app, "timeout")
	add(descL2Locks, float64(sh.Errors[credential.OpLock]), app, "error")
	add(descL2LockSeconds, sh.LockWait.Seconds(), app)
	for op, n := range sh.Errors {
		add(descL2Errors, float64(n), app, op)
	}
}

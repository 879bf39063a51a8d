package jssdk

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

// gatherText gathers reg and returns the samples of the app as
// "name{label=value,…} value" lines, and the families for linting.
func gatherText(t *testing.T, reg *prometheus.Registry, appID string) (map[string]float64, []*dto.MetricFamily) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	samples := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			var labels []string
			ours := !strings.HasPrefix(mf.GetName(), "caddy_wechat_") || mf.GetName() == "caddy_wechat_injections_total"
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
				if l.GetName() == "app_id" && l.GetValue() == appID {
					ours = true
				}
			}
			if !ours {
				continue // another test's store
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			samples[fmt.Sprintf("%s{%s}", mf.GetName(), strings.Join(labels, ","))] = v
		}
	}
	return samples, families
}

// TestMetrics: the store metrics sum the stores of one app, carry no
// secret, pass Prometheus' lint, and registering twice is harmless.
func TestMetrics(t *testing.T) {
	const appID = "wxmetrics000000001"
	t.Setenv("JSSDK_TEST_APP_SECRET", "metrics-secret-4d3c")
	var handlers []*Handler
	for range 2 {
		api := &fakeWeChat{appID: appID, secret: "metrics-secret-4d3c"}
		srv := httptest.NewServer(api)
		defer srv.Close()
		// another api_base: another store of the same app
		h := &Handler{AppID: appID, AppSecret: "{env.JSSDK_TEST_APP_SECRET}", APIBase: srv.URL}
		provision(t, h)
		defer h.Cleanup()
		servePage(t, h)
		handlers = append(handlers, h)
	}
	reg := prometheus.NewPedanticRegistry()
	for range 2 {
		if err := registerMetrics(reg); err != nil {
			t.Fatalf("registerMetrics: %v", err)
		}
	}
	samples, families := gatherText(t, reg, appID)

	for name, want := range map[string]float64{
		`caddy_wechat_api_calls_total{app_id=` + appID + `,endpoint=stable_token,result=ok}`:     2,
		`caddy_wechat_api_calls_total{app_id=` + appID + `,endpoint=getticket,result=ok}`:        2,
		`caddy_wechat_api_calls_total{app_id=` + appID + `,endpoint=getticket,result=quota}`:     0,
		`caddy_wechat_tickets_served_stale_total{app_id=` + appID + `}`:                          0,
		`caddy_wechat_api_calls_total{app_id=` + appID + `,endpoint=stable_token,result=config}`: 0,
	} {
		if got, ok := samples[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, cred := range []string{"token", "ticket"} {
		v := samples[`caddy_wechat_credential_expiry_seconds{app_id=`+appID+`,credential=`+cred+`}`]
		if v < 7100 || v > 7200 {
			t.Errorf("%s expiry = %v s, want about 7200", cred, v)
		}
	}
	if _, ok := samples[`caddy_wechat_injections_total{reason=ok,result=injected}`]; !ok {
		t.Error("no injections_total{result=injected}")
	}
	if _, ok := samples[`caddy_wechat_l2_reads_total{app_id=`+appID+`,result=hit}`]; ok {
		t.Error("L2 metrics for stores without an L2")
	}
	for name := range samples {
		for _, secret := range []string{"metrics-secret-4d3c", "TOKEN-" + appID, testTicket} {
			if strings.Contains(name, secret) {
				t.Errorf("metric %s carries a secret", name)
			}
		}
	}
	var ours []*dto.MetricFamily
	for _, mf := range families {
		if strings.HasPrefix(mf.GetName(), "caddy_wechat_") {
			ours = append(ours, mf)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(ours).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

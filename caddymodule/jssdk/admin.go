package jssdk

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// AdminAPI is the admin.api.wechat_jssdk module: Caddy's admin endpoint
// gains
//
//	GET  /wechat_jssdk/                  the apps in use, their credentials' expiry, errors and counts
//	POST /wechat_jssdk/refresh?app_id=…  a forced refresh of the app's token and ticket
//	POST /wechat_jssdk/refresh?corp_id=…[&agent_id=…]  the same for WeCom apps: token and both tickets
//
// The listing shows app IDs (a WeCom app's corp and agent IDs), never a
// secret, token or ticket; WeCom apps follow the Official Accounts, each
// with its token's and its two tickets' state (weComStatus). A refresh
// takes the same path as any refresh (the shared lock, the L2) and honours
// WeChat's limits on forcing a stable token (30 s apart, 20 a day): a
// refresh asked too soon is answered 429 with Retry-After.
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.wechat_jssdk",
		New: func() caddy.Module { return new(AdminAPI) },
	}
}

// Routes returns the /wechat_jssdk/ routes.
func (a AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/wechat_jssdk/", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// adminRefreshTimeout bounds how long POST …/refresh waits; the refresh
// itself goes on, bounded by the fetch timeouts.
const adminRefreshTimeout = time.Minute

func (a AdminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	switch r.URL.Path {
	case "/wechat_jssdk/":
		if r.Method != http.MethodGet {
			return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("method not allowed: use GET")}
		}
		return writeAdminJSON(w, http.StatusOK, listApps())
	case "/wechat_jssdk/refresh":
		if r.Method != http.MethodPost {
			return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("method not allowed: use POST")}
		}
		return refreshApp(w, r)
	default:
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("unknown wechat_jssdk admin path %q", r.URL.Path)}
	}
}

// appStatus is one store in the listing.
type appStatus struct {
	AppID           string               `json:"app_id"`
	Source          string               `json:"source"`
	TokenService    string               `json:"token_service,omitempty"`
	Storage         string               `json:"storage,omitempty"`
	TokenExpiresAt  *time.Time           `json:"token_expires_at"`
	TicketExpiresAt *time.Time           `json:"ticket_expires_at"`
	BackoffUntil    *time.Time           `json:"backoff_until,omitempty"`
	LastError       *errorStatus         `json:"last_error"`
	Calls           map[string]callCount `json:"calls"`
	ServedStale     uint64               `json:"served_stale"`
	Shared          *sharedStatus        `json:"shared,omitempty"`
}

// callCount is the calls to one endpoint by result.
type callCount map[string]uint64

type errorStatus struct {
	Message string    `json:"message"`
	Class   string    `json:"class,omitempty"`
	At      time.Time `json:"at"`
}

type sharedStatus struct {
	Hits            uint64            `json:"hits"`
	Misses          uint64            `json:"misses"`
	LocksAcquired   uint64            `json:"locks_acquired"`
	LockTimeouts    uint64            `json:"lock_timeouts"`
	LockWaitSeconds float64           `json:"lock_wait_seconds"`
	Errors          map[string]uint64 `json:"errors"`
	LastError       *errorStatus      `json:"last_error"`
}

func listApps() []any {
	oa := []appStatus{}
	for _, e := range liveStores() {
		oa = append(oa, e.status())
	}
	slices.SortFunc(oa, func(a, b appStatus) int {
		return cmp.Or(cmp.Compare(a.AppID, b.AppID), cmp.Compare(a.Source, b.Source), cmp.Compare(a.TokenService, b.TokenService))
	})
	out := make([]any, 0, len(oa))
	for _, a := range oa {
		out = append(out, a)
	}
	for _, w := range listWeComs(liveWeComs()) {
		out = append(out, w)
	}
	return out
}

func (e *storeEntry) status() appStatus {
	st := e.store.Stats()
	s := appStatus{
		AppID:           e.appID,
		Source:          e.source,
		TokenService:    e.service,
		TokenExpiresAt:  timeOrNil(st.TokenExpiresAt),
		TicketExpiresAt: timeOrNil(st.TicketExpiresAt),
		BackoffUntil:    timeOrNil(st.BackoffUntil),
		Calls: map[string]callCount{
			e.tokenEndpoint: classCounts(st.TokenCalls),
			"getticket":     classCounts(st.TicketCalls),
		},
		ServedStale: st.ServedStale,
	}
	if st.LastError != "" {
		s.LastError = &errorStatus{Message: st.LastError, Class: st.LastErrorClass.String(), At: st.LastErrorAt}
	}
	if sh := st.Shared; sh != nil {
		s.Storage = e.shared.kind()
		s.Shared = &sharedStatus{
			Hits: sh.Hits, Misses: sh.Misses, LocksAcquired: sh.LocksAcquired, LockTimeouts: sh.LockTimeouts,
			LockWaitSeconds: math.Round(sh.LockWait.Seconds()*1000) / 1000,
			Errors:          sh.Errors,
		}
		if sh.LastError != "" {
			s.Shared.LastError = &errorStatus{Message: sh.LastError, At: sh.LastErrorAt}
		}
	}
	return s
}

func classCounts(m map[wechat.Class]uint64) callCount {
	c := make(callCount, len(m))
	for class, n := range m {
		c[class.String()] = n
	}
	return c
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// refreshApp forces a refresh of every store of the app_id the query names.
func refreshApp(w http.ResponseWriter, r *http.Request) error {
	appID := r.URL.Query().Get("app_id")
	if appID == "" && r.URL.Query().Get("corp_id") != "" {
		return refreshWeCom(w, r)
	}
	if appID == "" {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: errors.New("missing app_id parameter (or corp_id for a WeCom app)")}
	}
	var matched []*storeEntry
	for _, e := range liveStores() {
		if e.appID == appID {
			matched = append(matched, e)
		}
	}
	if len(matched) == 0 {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("app_id %q is not in use", appID)}
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminRefreshTimeout)
	defer cancel()
	out := make([]appStatus, 0, len(matched))
	for _, e := range matched {
		if err := e.store.Refresh(ctx); err != nil {
			var limited *credential.RefreshLimitedError
			if errors.As(err, &limited) {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.RetryAfter.Seconds()))))
				return caddy.APIError{HTTPStatus: http.StatusTooManyRequests, Err: err}
			}
			return caddy.APIError{HTTPStatus: http.StatusBadGateway, Err: fmt.Errorf("refreshing %s (%s): %w", e.appID, e.source, err)}
		}
		out = append(out, e.status())
	}
	return writeAdminJSON(w, http.StatusOK, out)
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// Interface guard
var _ caddy.AdminRouter = AdminAPI{}

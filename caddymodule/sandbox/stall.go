package sandbox

import (
	"net/http"
	"time"
)

// stallFirst holds a faulted call for f.Stall, as an upstream that hangs
// does, so that tests can catch a client in the middle of a call (and kill
// it there). It reports false when the caller went away during the stall:
// there is nobody left to answer. A stall with nothing else to inject then
// answers HTTP 504, as a gateway giving up would.
//
//	POST /sandbox/fault
//	{"endpoint":"stable_token","stall":"1m"}
func (f fault) stallFirst(r *http.Request) (fault, bool) {
	if f.Stall <= 0 {
		return f, true
	}
	if sleepCtx(r.Context(), time.Duration(f.Stall)) != nil {
		return f, false
	}
	if f.HTTPStatus == 0 && f.ErrCode == 0 {
		f.HTTPStatus = http.StatusGatewayTimeout
	}
	return f, true
}

package sandbox

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// verifyRequest is what wx.config receives, as /sandbox/verify reads it.
// Other wx.config fields (debug, jsApiList, …) are ignored, so a page can
// post its whole config object.
type verifyRequest struct {
	AppID     string     `json:"appId"`
	Timestamp flexString `json:"timestamp"`
	NonceStr  string     `json:"nonceStr"`
	Signature string     `json:"signature"`
	URL       string     `json:"url"`
}

// flexString is a JSON string or number, kept as the literal text: the
// timestamp is a number in wx.config but a string in many server replies,
// and the signature covers its digits either way.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n)
	return nil
}

// Verification failures, as /sandbox/verify reports them.
const (
	verifyBadSignature = "invalid signature"
	verifyBadAppID     = "invalid appid"
	verifyMissingURL   = "missing url"
	verifyFragment     = "url must not contain a fragment"
	verifyNoTicket     = "no ticket issued"
)

// serveVerify checks a wx.config signature against the tickets this
// sandbox has issued, as the WeChat client does. It answers whether the
// signature holds, never which ticket it expected.
func (h *Handler) serveVerify(w http.ResponseWriter, r *http.Request) {
	if !requireMethod(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	var req verifyRequest
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil || json.Unmarshal(body, &req) != nil {
			writeControlError(w, http.StatusBadRequest, "malformed JSON body")
			return
		}
	} else {
		q := r.URL.Query()
		req = verifyRequest{
			AppID:     q.Get("appId"),
			Timestamp: flexString(q.Get("timestamp")),
			NonceStr:  q.Get("nonceStr"),
			Signature: q.Get("signature"),
			URL:       q.Get("url"),
		}
	}
	if msg := h.verify(req); msg != "" {
		writeJSON(w, http.StatusOK, controlReply{ErrMsg: msg})
		return
	}
	writeJSON(w, http.StatusOK, controlReply{OK: true})
}

// verify returns why req's signature does not hold, or "" when it does.
func (h *Handler) verify(req verifyRequest) string {
	switch {
	case req.URL == "":
		return verifyMissingURL
	case strings.Contains(req.URL, "#"):
		// WeChat's client signs location.href without the fragment; a
		// server that signs one has a bug the page would hit.
		return verifyFragment
	case h.isWeComCorp(req.AppID): // a WeCom wx.config, signed with the corp ticket (wecom_verify.go)
		return h.checkWeComSignature("", req.URL, string(req.Timestamp), req.NonceStr, req.Signature).ErrMsg
	case req.AppID != h.AppID:
		return verifyBadAppID
	}
	tickets := h.state.validTickets(h.clock())
	if len(tickets) == 0 {
		return verifyNoTicket
	}
	for _, t := range tickets {
		want := jsapiSignature(t, req.NonceStr, string(req.Timestamp), req.URL)
		if subtle.ConstantTimeCompare([]byte(req.Signature), []byte(want)) == 1 {
			return ""
		}
	}
	return verifyBadSignature
}

// jsapiSignature is WeChat's JS-SDK signature. It is written here again,
// not imported from the sign package, so that the two check each other.
func jsapiSignature(ticket, nonce, timestamp, url string) string {
	sum := sha1.Sum([]byte("jsapi_ticket=" + ticket + "&noncestr=" + nonce + "&timestamp=" + timestamp + "&url=" + url))
	return hex.EncodeToString(sum[:])
}

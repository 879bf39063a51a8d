// Package sandbox implements wechat_sandbox, a Caddy HTTP handler that
// emulates offline the parts of WeChat the other handlers talk to — the
// credential API, web OAuth, WeChat Pay's order creation, and the checks
// WeChat's client makes of wx.config and chooseWXPay; and, optionally, a
// WeCom corp's credential API, sign-in and both JS-SDK configs — for the
// demo and for tests.
//
// It is NOT for production, and says so with a warning in the log every
// time it is provisioned. It issues random tokens to whoever knows the
// configured app ID and secret, keeps its state in memory (only the
// tickets it issued are journaled to Caddy's storage, so a restarted
// sandbox still accepts the signatures of a restarted cluster), and has
// unauthenticated control endpoints that reset it and inject failures.
// Those are at least closed to web pages: they take only a POST with
// Content-Type application/json and send no CORS headers (see Control
// endpoints).
//
// # Configuration
//
//	wechat_sandbox [<matcher>] {
//		app_id     wx0123456789abcdef   # required
//		app_secret {env.WECHAT_SECRET}  # required; {env.*}/{file.*} resolved at provision
//		token_ttl  2h                   # lifetime of tokens and tickets (default 2h)
//		latency    50ms                 # delay before every /cgi-bin answer (default 0)
//		merchant_public_key <path>      # checks v3 paySigns
//		api_key    {env.PAY_KEY}        # checks v2 paySigns
//		allow_origin http://localhost:8080 ...  # sites whose pages run the stub jweixin
//		corp_id    ww0123456789abcdef   # a WeCom corp too (see WeCom)
//		agent      1000002 {env.WECOM_SECRET}  # one line per app of the corp
//	}
//
// The handler answers every request it receives; a path it does not know
// gets HTTP 404 with {"errcode":40066,"errmsg":"invalid url rid: …"}.
// Issued tokens, tickets, counters and pending faults are shared by every
// handler with the same app_id and survive config reloads.
//
// # WeChat endpoints
//
// As at WeChat, errors come as HTTP 200 with {"errcode":N,"errmsg":"… rid: …"}.
//
// GET /cgi-bin/token issues a new classic access token on every call; the
// previous one stays valid for 5 more minutes (or until its own expiry):
//
//	GET /cgi-bin/token?grant_type=client_credential&appid=wx0123456789abcdef&secret=S
//	→ {"access_token":"…","expires_in":7200}
//
// POST /cgi-bin/stable_token returns the same stable token while it is
// valid, with the seconds it has left; force_refresh issues a new one and
// leaves the old one 5 more minutes. Stable and classic tokens are separate:
//
//	POST /cgi-bin/stable_token
//	{"grant_type":"client_credential","appid":"wx0123456789abcdef","secret":"S","force_refresh":false}
//	→ {"access_token":"…","expires_in":6931}
//
// GET /cgi-bin/ticket/getticket returns the same JS-API ticket while it is
// valid and a new one after it expires; any valid token of either kind is
// accepted:
//
//	GET /cgi-bin/ticket/getticket?access_token=TOKEN&type=jsapi
//	→ {"errcode":0,"errmsg":"ok","ticket":"…","expires_in":7200}
//
// Error codes: 40002 wrong grant_type, 41002/40013 missing/wrong appid,
// 41004/40125 missing/wrong secret, 47001 malformed stable_token body,
// 41001 missing access_token, 40014 a string that is not shaped like a
// token, 40001 a token the sandbox never issued, 42001 an expired or
// superseded token, 40097 a type other than jsapi, 43001/43002 wrong method.
//
// # Control endpoints
//
// The control calls — /sandbox/fault, /sandbox/chaos, /sandbox/reset and
// /sandbox/rotate — take only POST (any other method: 405 with Allow:
// POST) with Content-Type application/json (anything else, a form
// included: 415) and a JSON object body ({} for reset and rotate; unknown
// fields: 400). No /sandbox/ answer carries CORS headers and no preflight
// is answered, so a web page on another origin can neither send a control
// call (a JSON POST needs a preflight) nor read an answer. The one
// exception is the stub jweixin's two checks, /sandbox/verify and
// /sandbox/pay/verify, and the WeCom scripts' /sandbox/wecom/verify: a
// page on one of the allow_origin origins gets Access-Control-Allow-Origin
// on their answers (the stubs send them as preflight-free text/plain
// POSTs). With the pages on the sandbox's own
// origin, allow_origin is not needed.
//
// POST or GET /sandbox/verify checks a wx.config signature the way the
// WeChat client does: sha1("jsapi_ticket=T&noncestr=N&timestamp=TS&url=U")
// in lowercase hex, for a currently valid ticket T of this sandbox. The
// timestamp may be a JSON number or string; other wx.config fields are
// ignored. It never reveals the ticket:
//
//	POST /sandbox/verify
//	{"appId":"wx0123456789abcdef","timestamp":1414587457,"nonceStr":"Wm3WZYTPz0wzccnW",
//	 "signature":"0f9de62fce790f9a083d5c99e95740ceb90c27ed","url":"http://mp.weixin.qq.com?params=value"}
//	→ {"ok":true}
//	GET /sandbox/verify?appId=…&timestamp=…&nonceStr=…&signature=…&url=ENCODED_URL
//	→ {"ok":false,"errmsg":"invalid signature"}
//
// Other refusals: "invalid appid", "missing url", "url must not contain a
// fragment", "no ticket issued" (no ticket is currently valid).
//
// GET /sandbox/stats counts calls per endpoint since start or reset,
// failed and faulted calls included:
//
//	GET /sandbox/stats
//	→ {"token":1,"stable_token":0,"getticket":3,"verify":2}
//
// POST /sandbox/fault (application/json) makes the next times (default 1)
// calls to endpoint ("token", "stable_token", "getticket" or "*" for all
// three) fail with WeChat error errcode, or, when http_status is set, with
// that HTTP status and a short text body; with stall (a duration) the call
// is held that long, or until the client gives up, before it answers
// (504, or the errcode). Faults queue up in order:
//
//	POST /sandbox/fault
//	{"endpoint":"getticket","errcode":45009,"times":2}
//	{"endpoint":"*","http_status":502}
//	→ {"ok":true}
//
// GET /connect/oauth2/authorize plays WeChat's web OAuth page for
// snsapi_base: it checks the parameters (in WeChat's strict order: appid,
// redirect_uri, response_type, scope, state) and redirects straight back to
// redirect_uri with a fresh code and the state. The sandbox user is
// "sandbox-user" unless the link carries &user=NAME or the browser has a
// wechat_sandbox_user cookie; each user has a stable openid (and unionid).
//
//	GET /connect/oauth2/authorize?appid=…&redirect_uri=…&response_type=code&scope=snsapi_base&state=S#wechat_redirect
//	→ 302 redirect_uri?code=C&state=S
//
// GET /sns/oauth2/access_token exchanges such a code once, within five
// minutes (40029 invalid code, 40163 code already used otherwise):
//
//	GET /sns/oauth2/access_token?appid=…&secret=…&code=C&grant_type=authorization_code
//	→ {"access_token":"…","expires_in":7200,"refresh_token":"…","openid":"…","scope":"snsapi_base","unionid":"…"}
//
// POST /sandbox/chaos (application/json) sets standing faults for every
// /cgi-bin call until the next chaos call ({} clears them), for soak tests
// (testdata/chaos): latency plus a uniform random jitter; then, in this
// order, outage (every connection closed without an answer), a fraction
// reset_rate of connections closed, a fraction http_5xx_rate answering
// HTTP 502, a fraction error_rate answering the error_codes in turn
// (default -1). Calls it lets through go on to the queued faults above:
//
//	POST /sandbox/chaos
//	{"latency":"3s","jitter":"500ms","error_rate":0.5,"error_codes":[-1,45009],
//	 "http_5xx_rate":0,"reset_rate":0,"outage":false}
//	→ {"ok":true}
//
// POST /sandbox/rotate (application/json, body {}) replaces every token
// and ticket without notice.
//
// POST /sandbox/reset (application/json, body {}) forgets every issued
// token and ticket, the counters and the pending faults:
//
//	POST /sandbox/reset
//	Content-Type: application/json
//
//	{}
//	→ {"ok":true}
//
// GET /sandbox/jweixin.js serves a stub of WeChat's jweixin script for
// browsers: point wechat_jssdk's sdk_url at it. Its wx.config sends the
// config and the URL WeChat's client would check — location.href without
// the fragment, or, when the user agent is iOS WeChat (MicroMessenger on
// iPhone/iPad/iPod), the URL the page was first loaded with — to
// /sandbox/verify, then runs the wx.ready or wx.error callbacks (with
// errMsg "config:invalid signature" and the like). Every successful config
// runs the ready callbacks again. API calls (checkJsApi, getNetworkType,
// updateAppMessageShareData, …) succeed only while the last config is
// valid for the URL checked at that moment. window.__wechatSandbox exposes
// counts and a log for tests. The stub runs on the site's origin: when
// that is not the sandbox's, name it in allow_origin, or the checks fail
// with "sandbox unreachable, or this page's origin is not in its
// allow_origin".
//
// POST /sandbox/pay/transactions/jsapi stands in for WeChat Pay's order
// creation (POST /v3/pay/transactions/jsapi): any JSON object in, a fresh
// prepay id out (out_trade_no is echoed when given). Put wechat_pay in
// front of a route to it and the answer comes back signed:
//
//	POST /sandbox/pay/transactions/jsapi  {"out_trade_no":"T1","amount":{"total":1}}
//	→ {"prepay_id":"wx3f…","out_trade_no":"T1"}
//
// POST /sandbox/pay/verify checks chooseWXPay's parameters as WeChat's
// client does: signType RSA against merchant_public_key (API v3), MD5 or
// HMAC-SHA256 against api_key (API v2), a prepay id it issued, paid once.
// The stub jweixin's chooseWXPay (and WeixinJSBridge getBrandWCPayRequest)
// call it after checking the page's config:
//
//	POST /sandbox/pay/verify  {"appId","timeStamp","nonceStr","package","signType","paySign"}
//	→ {"ok":true} | {"ok":false,"errmsg":"invalid paySign"}
//
// The control endpoints answer a bad request with a 4xx status and
// {"ok":false,"errmsg":"…"}.
//
// # WeCom
//
// With corp_id and at least one agent (app_id and app_secret stay
// required), the sandbox also plays a WeCom (企业微信) corp, on the same
// listener: WeCom's paths (qyapi.weixin.qq.com in real life) are not
// WeChat's. In JSON: "corp_id" and
// "agents": [{"agent_id": "1000002", "secret": "…"}]. Each app has its own
// secret (placeholders resolved at provision; no two alike), token and
// agent_config ticket; the corp has one ticket for wx.config. token_ttl is
// their lifetime too, latency, /sandbox/fault, chaos, rotate and reset
// apply to them. Errors come as HTTP 200 with
// {"errcode":N,"errmsg":"… hint: […], more info at …?e=N"}:
//
//	GET /cgi-bin/gettoken?corpid=ww…&corpsecret=S
//	→ {"errcode":0,"errmsg":"ok","access_token":"…","expires_in":7200}
//	GET /cgi-bin/get_jsapi_ticket?access_token=T          (the corp ticket, for wx.config)
//	GET /cgi-bin/ticket/get?access_token=T&type=agent_config  (T's app's ticket, for wx.agentConfig)
//	→ {"errcode":0,"errmsg":"ok","ticket":"…","expires_in":7200}
//
// gettoken gives the app whose secret is S the same token while that is
// valid (expires_in: the seconds left), as WeCom does; the ticket calls do
// the same with their tickets. Error codes: 41002/40013 missing/wrong corpid, 41004/40001
// missing/unknown corpsecret, 41001 missing access_token, 40014 a token
// the sandbox did not issue (or forgot in a rotation; a WeChat token
// included), 42001 an expired one, 40058 a type other than agent_config,
// 43001 not GET, 45009 beyond WeCom's hourly limits on ticket fetches: 400
// per corp and 100 per app, both kinds together, over the last hour.
//
// Sign-in: the authorize page (above) takes WeCom's link when appid is the
// corp ID — agentid (one of the agents) right after state, scope
// snsapi_base or snsapi_privateinfo (which needs agentid) — and signs in
// the sandbox user (user=NAME, the wechat_sandbox_user cookie, or
// "sandbox-user") as a member of the corp, whose userid is NAME, unless the
// link has &member=0 or the browser the cookie wechat_sandbox_member=0. The
// code works once, within five minutes, with a token of the link's agent
// (40029 otherwise, 41008 when missing):
//
//	GET /connect/oauth2/authorize?appid=ww…&redirect_uri=…&response_type=code&scope=snsapi_base&state=S&agentid=1000002#wechat_redirect
//	→ 302 redirect_uri?code=C&state=S
//	GET /cgi-bin/auth/getuserinfo?access_token=T&code=C
//	→ {"errcode":0,"errmsg":"ok","userid":"NAME"}   (a member)
//	→ {"errcode":0,"errmsg":"ok","openid":"o…"}     (a non-member: a stable openid per corp)
//
// POST /sandbox/wecom/verify checks a WeCom wx.config (appId the corp ID,
// against the corp ticket) and a wx.agentConfig (corpid, agentid, against
// that agent's ticket), with the JS-SDK rule
// sha1("jsapi_ticket=T&noncestr=N&timestamp=TS&url=URL"). Send either or
// both, with the URL the client checks (location.href without the
// fragment; a part's own url overrides it); the fields may also have the
// names preVerifyJSAPI receives (verifyAppId, verifyTimestamp,
// verifyNonceStr, verifySignature). Other fields are ignored, so a page can
// post its config objects whole. Any Content-Type; answers with
// Access-Control-Allow-Origin for allow_origin pages:
//
//	POST /sandbox/wecom/verify
//	{"url":"https://app.example/p?x=1",
//	 "config":{"appId":"ww…","timestamp":1700000000,"nonceStr":"N","signature":"…"},
//	 "agentConfig":{"corpid":"ww…","agentid":"1000002","timestamp":"1700000000","nonceStr":"N","signature":"…"}}
//	→ {"ok":false,"errmsg":"agentConfig: invalid signature: signed with the corp ticket (get_jsapi_ticket); wx.agentConfig needs …",
//	   "config":{"ok":true},
//	   "agentConfig":{"ok":false,"errmsg":"invalid signature: signed with the corp ticket …","reason":"corp_ticket"}}
//
// Reasons: missing_url, fragment, invalid_corpid, missing_agentid,
// invalid_agentid, no_ticket, agent_ticket (a wx.config signed with an
// agent ticket), corp_ticket (a wx.agentConfig signed with the corp
// ticket), other_agent_ticket, official_account_ticket, invalid_signature.
// /sandbox/verify also takes a WeCom wx.config (appId the corp ID).
//
// GET /sandbox/stats then has a "wecom" object: calls per endpoint for the
// corp, failed and faulted ones included, and per agent for the calls
// whose agent is known (by secret or token):
//
//	"wecom":{"corp_id":"ww…","gettoken":1,"get_jsapi_ticket":1,"agent_ticket":1,"getuserinfo":0,"verify":2,
//	  "agents":{"1000002":{"gettoken":1,"get_jsapi_ticket":1,"agent_ticket":1,"getuserinfo":0}}}
//
// /sandbox/fault takes these names as endpoint too ("*" covers them).
//
// Scripts for pages, like the stub jweixin: GET /sandbox/wecom/bridge.js
// emulates the WeCom client's WeixinJSBridge (preVerifyJSAPI and
// agentConfig check through /sandbox/wecom/verify; other calls succeed while
// a verified config holds for the page's URL), so that the real
// @wecom/jssdk runs its handshake in a plain browser given a user agent with
// wxwork/VERSION; /sandbox/wecom/jwxwork.js adds a jweixin for WeCom pages
// (wx.config, wx.ready, wx.error, wx.agentConfig, wx.invoke);
// /sandbox/wecom/ww.js adds a stub of @wecom/jssdk's global ww
// (ww.register with getConfigSignature/getAgentConfigSignature). They
// record what happened in window.__wecomSandbox.
//
// # Its own code, on purpose
//
// The sandbox checks what the other handlers produce, so it does not share
// the code it checks. It computes and verifies signatures itself, with a
// few lines of crypto/sha1, crypto/md5, crypto/hmac and crypto/rsa (the
// wx.config signature, the v2 paySign, the v3 paySign against the
// merchant's public key), never through the sign package; and it speaks
// WeChat's API with its own code, not with the wechat client. Code that
// looks duplicated between the sandbox and sign or wechat is meant to be:
// a bug in one is caught by the other. What it does share (the
// configuration helpers of internal/config) is plumbing it does not check.
//
// Nothing secret (app secret, API key, tokens, tickets, codes) is ever
// logged.
package sandbox

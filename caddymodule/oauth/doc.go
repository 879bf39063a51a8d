// Package oauth is the wechat_oauth handler: WeChat web OAuth (公众号网页授权)
// done once in front of every app, so that each request reaching the
// upstream carries the WeChat user's openid in a header, and no app behind
// Caddy re-implements the redirect dance, the code exchange or the session.
//
// # The flow
//
// A request the directive matches, from WeChat's built-in browser (its
// User-Agent contains MicroMessenger), without a valid session cookie:
//
//   - GET or HEAD navigations get 302 to WeChat's authorize page, with the
//     parameters in the exact order WeChat insists on and #wechat_redirect;
//     a state cookie (AES-GCM sealed: a random id, the return URL, an
//     expiry ten minutes out) binds the login to this browser, and only
//     the id travels in state;
//   - anything else (POST, an XHR/fetch) gets 401 with a JSON error: a
//     script cannot follow a redirect to WeChat.
//
// WeChat sends the browser back to callback_path with code and state. The
// handler answers that path itself, whatever the directive's matcher (it
// sees every request: see below): it checks the state against the
// browser's state cookie, uses it once in the whole cluster (see below),
// exchanges the code at /sns/oauth2/access_token, sets the session cookie
// and 302s to the original URL, which carries no code or state, so
// wechat_jssdk signs the page the user really lands on.
//
// The directive is ordered ahead of Caddy's rewrites (try_files, rewrite,
// uri), so a path matcher on it sees the path the browser asked for, and
// ahead of wechat_jssdk and wechat_pay, so that both the page and the order
// endpoint behind them get the identity.
//
// With a valid session, the request goes on with the openid header (and
// the unionid header when WeChat gave one).
//
// # WeCom (企业微信) mode
//
// With corp_id, agent_id and corp_secret instead of app_id and app_secret
// (mixing them is a configuration error), the handler signs in the users
// of a WeCom app. The flow above is the same, state, cookies, single use
// and stripping included; what differs:
//
//   - the browser sent to sign in is WeCom's (wxwork in its User-Agent;
//     WeCom's also says MicroMessenger, WeChat's does not say wxwork);
//     every other one, WeChat's included, follows outside_wechat;
//   - the authorize link is WeCom's: appid=<corp_id>, redirect_uri,
//     response_type=code, scope (snsapi_base, or snsapi_privateinfo),
//     state, agentid=<agent_id>, in that order, and #wechat_redirect, on
//     the same authorize page;
//   - the code is exchanged at GET {api_base}/cgi-bin/auth/getuserinfo
//     (api_base https://qyapi.weixin.qq.com) with the app's access token;
//     a member of the corp comes back as a userid, anyone else as an
//     openid, and the upstream gets X-WeCom-UserID or X-WeCom-OpenID, never
//     both (the names are fixed; header is refused in WeCom mode). A
//     member's user_ticket and a non-member's external_userid are dropped;
//   - the access token (gettoken with corp_id and corp_secret) is held once
//     per app in the process, in this package's own caddy.UsagePool of
//     credential.WeCom (wecom.go): every site and every reload of the app
//     shares it, and it is fetched when a callback first needs it. When
//     getuserinfo rejects it (40001, 40014, 42001), it is replaced, once
//     for all the callbacks that met the rejection, and the code tried
//     once more. wechat_jssdk's WeCom mode holds the same app's token in
//     its own pool: one gettoken more every two hours, which WeCom allows
//     (it hands every caller the same token while it is valid);
//   - the app is named wecom/<corp_id>/<agent_id> in storage keys and in
//     the seal's additional data, and its session cookie is sealed for a
//     purpose of its own, so that an Official Account's session never opens
//     as a WeCom one, nor one WeCom app's as another's;
//   - callback_path defaults to /.well-known/wecom-oauth/callback and the
//     cookie to __Host-wechat_oauth_wecom (wechat_oauth_wecom over http),
//     so that a site can sign WeChat users in on some paths and the corp's
//     staff on others with both directives' defaults.
//
// # A state is used once, in the whole cluster
//
// This process's replay cache (replay.go) refuses a state already used
// here at once, without asking the storage. A state new here is then
// claimed in Caddy's storage, the one the cookie key lives in
// (usedstates.go), before its code is exchanged: under the storage's lock
// named wechat_oauth/<app_id>/used_states/<state>, the claim reads the
// state's record and, when there is none, writes one. An instance sharing
// the storage that gets the state afterwards (a replayed callback with a
// fresh code from the authorize page) finds the record and refuses it.
// Two instances claiming one state at the same moment are ordered by the
// lock: the second reads the record the first wrote. That holds as long
// as the storage's lock holds: the file system and Redis storages take a
// lock from a holder that has not refreshed it for 10 s and 5 s, so only
// an instance frozen inside a claim that long could let a second one in
// (and WeChat still takes each code once).
//
// The record lives at
// wechat_oauth/<app_id>/used_states/<minute its state expires>/<state>,
// sealed with the cookie key: when the first callback came, the SHA-256 of
// its code, and its answer, never an openid, a code or a token in clear.
// After a claim, at most once a minute, an instance deletes in the
// background the minute buckets whose states expired five minutes ago or
// more (the five minutes leave room for clocks that differ).
//
// A storage that fails (an error, or no answer within 5 s) fails the
// callback closed: 503 and a page saying to try again, before the code is
// exchanged; the first failure is logged at error level, the next ones at
// debug. Sign-in is a security boundary, and going on without the mark
// would let the state be used again on another instance. The cost is
// bounded: sessions are cookies and go on working without the storage;
// only new sign-ins wait for it. When the mark is made and only what
// follows fails (letting go of the lock, recording the answer), the
// sign-in goes through and a warning is logged.
//
// # A repeated callback
//
// WeChat sometimes sends the browser to the callback twice (a double
// redirect): the browser drops the first request and makes it again, with
// the same state cookie, state and code. For 30 seconds after a state's
// first callback, a callback with the same state cookie, state and code
// gets the first one's answer, the same redirect and the same session
// cookie (its Max-Age what is left of the session), or the same refusal,
// with no second code exchange, on whichever instance it lands: on the
// first one's instance it waits for the answer in memory; on another it
// reads it from the state's record, waiting up to 20 s for the exchange
// to end. The exchange runs to its end even when the browser drops the
// first request: the repeat needs its answer. Without the state cookie
// (HttpOnly, and cleared by the first answer), with another code or later
// than 30 s, a callback of a used state is a replay, and refused.
//
// # Identity headers: removed from every request, set by the handler only
//
// The identity headers are X-WeChat-OpenID, X-WeChat-UnionID,
// X-WeCom-UserID and X-WeCom-OpenID, in either mode, and the names header
// and unionid_header give when they differ. The handler
// removes every copy a client sent of any of them from every request it
// sees, whatever its matcher says of the request and whether or not there
// is a session: in any case, with '_' or '.' for '-' (CGI, FastCGI and PHP
// read X_WeChat_OpenID and X.WeChat.OpenID as X-WeChat-OpenID), on
// however many lines. Then it sets them, from the session, on the requests
// its matcher matches. The stripping is internal/identity's, which the
// other handlers that vouch for a header (WeCom, pay notifications) share.
//
// A handler sees only the requests its route matches, so the matcher of
// `wechat_oauth /shop/* {…}` cannot be the route's: a forged
// X-WeChat-OpenID on /api/orders, or on /shop/../api/orders, which the path
// matcher cleans to /api/orders, would go past the handler to the
// upstream. The Caddyfile adapter therefore emits the handler in a route
// without a matcher and puts the directive's matcher in the handler's
// "match" field (ownpath.ParseEveryRequest); the handler applies it itself
// with Caddy's own matchers, after stripping and after answering the
// callback, which is why the callback needs no matcher of its own either.
// The alternative, a second, unmatched route that only strips, would not
// do: httpcaddyfile sorts the routes of one directive with matchers ahead
// of those without, so the stripping route would run after the one that
// set the identity, and remove it. A JSON config must follow the same
// shape: the handler in a route that every request of the site passes
// through, the matcher in "match". And a wechat_oauth inside a handle or
// route block sees, and cleans, only that block's requests: put it at the
// site's top level.
//
// Two wechat_oauth directives of one site (/shop/* and /member/*) both see
// every request and both strip the default names; what the first set on a
// request survives the second, which keeps a header that identity.Set put
// there, unchanged, on that very request.
//
// # Cookies
//
// Both cookies are sealed with AES-256-GCM under one 32-byte key kept in
// Caddy's storage at wechat_oauth/<app_id>/cookie_key, or
// wechat_oauth/wecom/<corp_id>/<agent_id>/cookie_key in WeCom mode, whose
// used states live under that prefix too (the `storage` global option:
// the file system by default, Redis and the like in a cluster). The first instance to need it creates it under the storage
// lock; every other instance, and every restart, reads the same key, so a
// cluster accepts its own cookies and a restart logs nobody out. The
// session cookie carries openid, unionid and its expiry, nothing else: the
// user access_token of the exchange is dropped at once. Cookies are
// HttpOnly, SameSite=Lax, Secure over https, and named
// __Host-wechat_oauth (and __Host-wechat_oauth_state) over https,
// wechat_oauth over plain http, where browsers refuse the __Host- prefix.
// A cookie that does not open (tampered, expired, another app's or another
// key's) is no session.
//
// # What is never written anywhere
//
// The app secret (corp_secret), the OAuth code, the user access_token (the
// WeCom app's access token) and the cookie key never reach a log line, an
// error, a response or a header; the storage
// keeps the code's SHA-256 only, and openids sealed. The callback
// request is left out of Caddy's access log, whose request URI would carry
// the code; the handler logs its outcome itself, without it.
package oauth

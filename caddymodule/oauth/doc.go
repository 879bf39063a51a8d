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
// handler answers that path itself, whatever the directive's matcher (the
// Caddyfile adapter ORs it into the route, like wechat_jssdk's
// config_endpoint): it checks the state against the browser's state
// cookie, once, exchanges the code at /sns/oauth2/access_token, sets the
// session cookie and 302s to the original URL, which carries no code or
// state, so wechat_jssdk signs the page the user really lands on.
//
// The directive is ordered ahead of Caddy's rewrites (try_files, rewrite,
// uri), so a path matcher on it sees the path the browser asked for, and
// ahead of wechat_jssdk and wechat_pay, so that both the page and the order
// endpoint behind them get the identity.
//
// With a valid session, the request goes on with the openid header (and
// the unionid header when WeChat gave one). The same headers sent by the
// client are removed first, session or not, including spellings with '_'
// that CGI-style backends read as the same name.
//
// # Cookies
//
// Both cookies are sealed with AES-256-GCM under one 32-byte key kept in
// Caddy's storage at wechat_oauth/<app_id>/cookie_key (the `storage`
// global option: the file system by default, Redis and the like in a
// cluster). The first instance to need it creates it under the storage
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
// The app secret, the OAuth code, the user access_token and the cookie key
// never reach a log line, an error, a response or a header. The callback
// request is left out of Caddy's access log, whose request URI would carry
// the code; the handler logs its outcome itself, without it.
package oauth

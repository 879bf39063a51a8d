// Package jssdk is the caddy-wechat-jssdk plugin: import it (xcaddy build
// --with github.com/caddy-wechat/jssdk) and Caddy gains the wechat_jssdk
// handler, which injects a correctly signed WeChat JS-SDK wx.config into
// the HTML pages it serves or proxies; wechat_pay, which signs WeChat Pay
// chooseWXPay parameters into order responses; wechat_oauth, which signs
// WeChat users in through web OAuth and passes their openid upstream;
// wechat_pay_api, which signs a backend's WeChat Pay API v3 calls and
// verifies the answers; wechat_pay_notify, which verifies and decrypts
// WeChat Pay v3 notifications for the backend; and wechat_sandbox, an
// offline stand-in for the WeChat API for demos and tests.
package jssdk

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddy-wechat/jssdk/caddymodule/jssdk"
	"github.com/caddy-wechat/jssdk/caddymodule/oauth"
	"github.com/caddy-wechat/jssdk/caddymodule/pay"
	"github.com/caddy-wechat/jssdk/caddymodule/payapi"
	"github.com/caddy-wechat/jssdk/caddymodule/paynotify"
	"github.com/caddy-wechat/jssdk/caddymodule/sandbox"
)

func init() {
	caddy.RegisterModule(jssdk.Handler{})
	// GET /wechat_jssdk/ and POST /wechat_jssdk/refresh on the admin API.
	caddy.RegisterModule(jssdk.AdminAPI{})
	caddy.RegisterModule(sandbox.Handler{})
	caddy.RegisterModule(pay.Handler{})
	caddy.RegisterModule(oauth.Handler{})
	caddy.RegisterModule(payapi.Handler{})
	caddy.RegisterModule(paynotify.Handler{})

	httpcaddyfile.RegisterDirective("wechat_jssdk", jssdk.ParseDirective)
	httpcaddyfile.RegisterHandlerDirective("wechat_sandbox", sandbox.ParseCaddyfile)
	httpcaddyfile.RegisterHandlerDirective("wechat_pay", pay.ParseCaddyfile)
	httpcaddyfile.RegisterDirective("wechat_oauth", oauth.ParseDirective)
	httpcaddyfile.RegisterHandlerDirective("wechat_pay_api", payapi.ParseCaddyfile)
	httpcaddyfile.RegisterDirective("wechat_pay_notify", paynotify.ParseDirective)

	// Ahead of the rewrites (try_files … /index.html for an SPA), so that
	// a path matcher on the directive sees the path the browser asked for,
	// and so well ahead of wechat_jssdk and wechat_pay: the upstream and
	// the order endpoint see the identity. After redir: a redirect needs
	// no sign-in.
	httpcaddyfile.RegisterDirectiveOrder("wechat_oauth", httpcaddyfile.Before, "method")
	// Inside encode, so what it injects is compressed with the page, and
	// outside templates and the responders, whose output it rewrites.
	httpcaddyfile.RegisterDirectiveOrder("wechat_jssdk", httpcaddyfile.Before, "templates")
	// Same place: inside encode, so the signed response is compressed like
	// any other, and outside the responders whose JSON it signs.
	httpcaddyfile.RegisterDirectiveOrder("wechat_pay", httpcaddyfile.Before, "templates")
	// A responder: ahead of respond and file_server so a catch-all site
	// block can put the sandbox under a path matcher.
	httpcaddyfile.RegisterDirectiveOrder("wechat_sandbox", httpcaddyfile.Before, "respond")
	// wechat_pay_notify: early, with wechat_oauth (after it: both "before
	// method", the later registration lands nearer method). Like
	// wechat_oauth it sees every request of its site (its matcher is
	// applied by the handler, not the route) and removes client-sent
	// X-WeChat-Pay-* from all of them, so it must run ahead of handle,
	// handle_path and route, whose blocks would otherwise take a request
	// to the backend unstripped; and its matcher then sees the notify_url
	// path as WeChat Pay called it, before any rewrite. What it forwards
	// (the decrypted JSON) goes on through the rewrites and blocks to
	// reverse_proxy (or php_fastcgi) like any request. After request_body,
	// whose limit applies first.
	httpcaddyfile.RegisterDirectiveOrder("wechat_pay_notify", httpcaddyfile.Before, "method")
	// wechat_pay_api: immediately before reverse_proxy (and so before
	// php_fastcgi and file_server), after every rewrite (rewrite, uri,
	// handle_path's strip, try_files), so that it signs the path and
	// query exactly as reverse_proxy sends them and nothing changes them
	// after the signature; after request_header, whose changes apply
	// first; after respond, abort and error, so that an operator's
	// `respond @outsider 403` refuses outsiders before anything is signed;
	// inside encode, which compresses only the verified answer.
	httpcaddyfile.RegisterDirectiveOrder("wechat_pay_api", httpcaddyfile.Before, "reverse_proxy")
}

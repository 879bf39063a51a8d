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
	httpcaddyfile.RegisterHandlerDirective("wechat_pay_notify", paynotify.ParseCaddyfile)

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
	// Both WeChat Pay v3 gateways sit immediately before reverse_proxy
	// (and so before php_fastcgi and file_server): after every rewrite
	// (rewrite, uri, handle_path's strip, try_files), so that
	// wechat_pay_api signs the path and query exactly as reverse_proxy
	// sends them and nothing changes them after the signature; after
	// request_body and request_header, whose limits and header changes
	// apply first; after respond, abort and error, so an operator's
	// `respond @outsider 403` refuses outsiders before anything is signed
	// or forwarded; and inside encode, which compresses only what they let
	// through. wechat_pay_notify first: if both ever share a route (they
	// should not), a notification is checked and decrypted before anything
	// could sign it as a call to WeChat Pay, and wechat_pay_api would then
	// refuse it (not a /v3/ path) rather than send it on.
	httpcaddyfile.RegisterDirectiveOrder("wechat_pay_notify", httpcaddyfile.Before, "reverse_proxy")
	// (Both "before reverse_proxy": the second registered lands between
	// the first and reverse_proxy. The reference must be a standard
	// directive.)
	httpcaddyfile.RegisterDirectiveOrder("wechat_pay_api", httpcaddyfile.Before, "reverse_proxy")
}

// Package caddymodule is the Caddy-facing side of caddy-wechat-jssdk: the
// wechat_jssdk HTTP handler, its Caddyfile directive, the usage pool that
// shares one credential store per WeChat app across sites and config
// reloads, and the response writer that injects the signed wx.config into
// HTML while it streams.
//
// The pieces that do not need Caddy live in subpackages (wechat, credential,
// sign, inject) so they can be read and tested alone.
package jssdk

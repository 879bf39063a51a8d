// Package integration holds the tests that run this plugin inside a real
// Caddy: golden Caddyfile → JSON adapt tests, `caddy validate` errors,
// in-process servers (caddytest) behind which the handlers serve the demo
// site, a reverse proxy or OAuth sign-in against the offline wechat_sandbox,
// multi-process clusters sharing file-system or Redis storage (built from
// testdata/caddy), headless-Chromium end-to-end pages, the demo
// Caddyfile.example, and a fuzz target for every directive's Caddyfile
// block. It has no non-test code; the tests import the plugin's root
// package, which registers the modules.
//
// Their fixtures are the repository's own (testdata/, Caddyfile.example,
// xcaddy.json, go.mod at the repository root); only the fuzz corpus lives
// here, in testdata/fuzz, where `go test -fuzz` looks for it. Run them with
// the rest: `go test -race -count=1 ./...` from the repository root, or
// alone with `go test ./caddymodule/integration/`. They need chromium and
// redis-server on the PATH, and skip the tests that use them otherwise;
// JSSDK_NO_SKIP=1 (set by .ci/run) turns every skip into a failure.
package integration

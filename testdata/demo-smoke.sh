#!/usr/bin/env bash
# Builds Caddy with this plugin exactly as README's demo command does, runs
# Caddyfile.example, and checks that the demo page carries a wx.config the
# sandbox accepts for the page's URL. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$out"' EXIT

go run github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5 build v2.11.9 \
	--with github.com/caddy-wechat/jssdk@v0.0.0=. --output "$out/caddy"
"$out/caddy" list-modules | grep -q '^http.handlers.wechat_jssdk$'
"$out/caddy" list-modules | grep -q '^http.handlers.wechat_sandbox$'
"$out/caddy" validate --config Caddyfile.example >/dev/null

"$out/caddy" run --config Caddyfile.example >"$out/log" 2>&1 &
pid=$!
for _ in $(seq 50); do
	curl -fsS -o /dev/null http://localhost:8080/ 2>/dev/null && break
	sleep 0.2
done

page_url='http://localhost:8080/pay/order.html?order=42&from=demo'
curl -fsS "$page_url" >"$out/page.html"
config=$(sed -n 's|.*<script id="wechat-jssdk-config" type="application/json">\([^<]*\)</script>.*|\1|p' "$out/page.html")
if [ -z "$config" ]; then
	echo "demo page has no injected wx.config:" >&2
	cat "$out/page.html" "$out/log" >&2
	exit 1
fi
verdict=$(jq -c --arg url "$page_url" '{appId, timestamp, nonceStr, signature, url: $url}' <<<"$config" |
	curl -fsS -H 'Content-Type: application/json' --data-binary @- http://localhost:8081/sandbox/verify)
if [ "$(jq -r .ok <<<"$verdict")" != "true" ]; then
	echo "sandbox rejects the demo page's signature: $verdict" >&2
	exit 1
fi
echo "demo smoke: signature for $page_url verified by the sandbox"

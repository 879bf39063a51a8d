#!/usr/bin/env bash
# Builds Caddy with this plugin exactly as README's demo command does, runs
# Caddyfile.example, and checks that the demo page carries a wx.config the
# sandbox accepts for the page's URL, then runs the demo's pay flow with
# curl pretending to be WeChat: sign-in, an order through the backend (which
# holds no key: wechat_pay_api signs its WeChat Pay call), the signed
# chooseWXPay parameters paid at the sandbox as the stub jweixin pays them,
# and the notification, verified and decrypted by wechat_pay_notify, seen by
# the backend with trade_state SUCCESS. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
# Only the Caddy this script started: "kill 0" would end the whole process
# group, .ci/run included, when the script fails before starting it.
trap 'if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$out"' EXIT

go run github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5 build v2.11.9 \
	--with github.com/caddy-wechat/jssdk@v0.0.0=. --output "$out/caddy"
# Listed once into a file: "list-modules | grep -q" under pipefail fails
# whenever grep exits before Caddy has written the whole list (SIGPIPE).
"$out/caddy" list-modules >"$out/modules"
for m in wechat_jssdk wechat_sandbox wechat_pay wechat_oauth wechat_pay_api wechat_pay_notify; do
	grep -qx "http.handlers.$m" "$out/modules" || { echo "demo smoke: http.handlers.$m is not in the build" >&2; exit 1; }
done
"$out/caddy" validate --config Caddyfile.example >/dev/null

# a storage of its own: wechat_jssdk's credentials, wechat_pay_notify's
# replay markers, nothing left in the user's data directory
export XDG_DATA_HOME="$out/data"
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

# The pay flow. A WeChat User-Agent: wechat_oauth signs the user in against
# the sandbox (redirects followed, cookies kept) and tells the backend who
# pays.
fail() {
	echo "demo pay flow: $*" >&2
	tail -n 30 "$out/log" >&2
	exit 1
}
ua='Mozilla/5.0 (iPhone) MicroMessenger/8.0.47'
jar="$out/jar"
curl -fsS -A "$ua" -c "$jar" -b "$jar" -L -o /dev/null 'http://localhost:8080/pay/order.html?order=42' ||
	fail "signing in"
order=$(curl -sS -A "$ua" -b "$jar" -H 'Content-Type: application/json' \
	-d '{"description":"demo smoke","amount":{"total":1}}' http://localhost:8080/api/order)
no=$(jq -r '.out_trade_no // empty' <<<"$order")
[ -n "$no" ] && [ "$(jq -r '.wechat_pay.signType' <<<"$order")" = RSA ] ||
	fail "no signed order: $order"
# what the stub's chooseWXPay sends once it has checked the page's config
paid=$(jq -c .wechat_pay <<<"$order" |
	curl -sS -H 'Content-Type: text/plain' --data-binary @- http://localhost:8081/sandbox/pay/verify)
[ "$(jq -r .ok <<<"$paid")" = true ] || fail "the sandbox refuses the payment: $paid"
# the backend waits up to 10 s for WeChat Pay's notification
status=$(curl -sS -A "$ua" -b "$jar" "http://localhost:8080/api/order/$no?wait=10s")
state=$(jq -r '[.notifications[] | select(.event_type == "TRANSACTION.SUCCESS")][0].resource.trade_state // empty' <<<"$status")
[ "$state" = SUCCESS ] || fail "the backend heard no TRANSACTION.SUCCESS for $no: $status"
[ "$(jq -r .query.answer.trade_state <<<"$status")" = SUCCESS ] ||
	fail "WeChat Pay's query through wechat_pay_api: $status"
echo "demo smoke: order $no paid; the backend (no key) got the decrypted notification, trade_state $state"

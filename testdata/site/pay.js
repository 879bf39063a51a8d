// Demo only: the whole pay flow, offline, with a backend that holds no key.
// The page asks the backend for an order; the backend created it with WeChat
// Pay through Caddy's wechat_pay_api, and wechat_pay signed the answer's
// chooseWXPay parameters on the way out; the sandbox's stub chooseWXPay
// checks paySign as WeChat would and pays; WeChat Pay's notification passes
// wechat_pay_notify, which verifies and decrypts it; the page then asks the
// backend what it heard.
(function () {
	var button = document.getElementById("pay");
	var out = document.getElementById("pay-result");
	var detail = document.getElementById("notification");
	function show(state, text) {
		out.textContent = text;
		out.className = state === "notified" ? "ok" : state === "failed" ? "bad" : "";
		out.setAttribute("data-state", state);
	}
	function fail(text) { show("failed", text); button.disabled = false; }
	function json(x) { try { return JSON.parse(x.responseText); } catch (e) { return null; } }

	// heard asks the backend what it has heard of the order: it waits up
	// to 10 s for WeChat Pay's notification, then also asks WeChat Pay.
	function heard(order) {
		var x = new XMLHttpRequest();
		x.open("GET", "/api/order/" + encodeURIComponent(order.out_trade_no) + "?wait=10s");
		x.onload = function () {
			var s = json(x) || {}, n = null, i;
			for (i = 0; s.notifications && i < s.notifications.length; i++) {
				if (s.notifications[i].event_type === "TRANSACTION.SUCCESS") n = s.notifications[i];
			}
			var q = s.query && s.query.answer && s.query.answer.trade_state;
			if (!n) { fail("paid, but no notification reached the backend (WeChat Pay's query says " + (q || "nothing") + ")"); return; }
			var t = n.resource;
			show("notified", "notification " + n.event_type + " \u2714 trade_state " + t.trade_state +
				" (order " + t.out_trade_no + ", transaction " + t.transaction_id + ", " + t.amount.total + " fen, payer " +
				t.payer.openid + ") \u2014 verified and decrypted by wechat_pay_notify; WeChat Pay's query through wechat_pay_api: " + q);
			detail.textContent = JSON.stringify(t, null, 2);
		};
		x.onerror = function () { fail("cannot ask the backend about the order"); };
		x.send();
	}

	function pay() {
		button.disabled = true;
		detail.textContent = "";
		show("ordering", "creating the order…");
		var x = new XMLHttpRequest();
		x.open("POST", "/api/order");
		x.setRequestHeader("Content-Type", "application/json");
		x.onload = function () {
			var order = json(x);
			if (x.status !== 200) {
				fail("the backend could not create the order: " + ((order && (order.message || order.error)) || "HTTP " + x.status) +
					(order && order.answer ? " " + JSON.stringify(order.answer) : ""));
				return;
			}
			var p = order && order.wechat_pay;
			if (!p) { fail("the order answer carries no signed parameters"); return; }
			show("paying", "prepay_id " + order.prepay_id + " signed (" + p.signType + "); calling chooseWXPay…");
			wx.chooseWXPay({
				timestamp: p.timeStamp, nonceStr: p.nonceStr, "package": p["package"],
				signType: p.signType, paySign: p.paySign,
				success: function () {
					show("paid", "chooseWXPay:ok \u2714 paid (order " + order.out_trade_no + ", payer " + order.payer.openid +
						"); waiting for WeChat Pay's notification…");
					heard(order);
				},
				fail: function (r) { fail(r.errMsg); }
			});
		};
		x.onerror = function () { fail("cannot reach the backend"); };
		x.send(JSON.stringify({description: "caddy-wechat-jssdk demo", amount: {total: 1}}));
	}
	button.onclick = pay;
	window.addEventListener("wechat-jssdk:ready", function () {
		button.disabled = false;
		if (/[?&]autopay=1(&|$)/.test(location.search)) pay();
	});
})();

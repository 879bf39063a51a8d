// Demo only: the whole pay flow, offline. The page asks its backend for an
// order; wechat_pay signed the answer's chooseWXPay parameters on the way
// out; the sandbox's stub chooseWXPay checks paySign as WeChat would.
(function () {
	var button = document.getElementById("pay");
	var out = document.getElementById("pay-result");
	function show(state, text) {
		out.textContent = text;
		out.className = state === "paid" ? "ok" : state === "failed" ? "bad" : "";
		out.setAttribute("data-state", state);
	}
	function pay() {
		button.disabled = true;
		show("ordering", "creating the order…");
		var x = new XMLHttpRequest();
		x.open("POST", "/api/order");
		x.setRequestHeader("Content-Type", "application/json");
		x.onload = function () {
			var order;
			try { order = JSON.parse(x.responseText); } catch (e) { order = null; }
			var p = order && order.wechat_pay;
			if (!p) { show("failed", "the order answer carries no signed parameters"); button.disabled = false; return; }
			show("paying", "prepay_id " + order.prepay_id + " signed (" + p.signType + "); calling chooseWXPay…");
			wx.chooseWXPay({
				timestamp: p.timeStamp, nonceStr: p.nonceStr, "package": p["package"],
				signType: p.signType, paySign: p.paySign,
				success: function () {
					var payer = order.payer ? ", payer " + order.payer.openid : ", no payer: open the page in WeChat to sign in";
					show("paid", "chooseWXPay:ok \u2714 paid (order " + order.out_trade_no + payer + ")");
				},
				fail: function (r) { show("failed", r.errMsg); button.disabled = false; }
			});
		};
		x.send(JSON.stringify({out_trade_no: "DEMO" + Date.now(), description: "demo", amount: {total: 1}}));
	}
	button.onclick = pay;
	window.addEventListener("wechat-jssdk:ready", function () {
		button.disabled = false;
		if (/[?&]autopay=1(&|$)/.test(location.search)) pay();
	});
})();

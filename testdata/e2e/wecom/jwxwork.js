// jwxwork for the Chromium tests: what WeCom's jwxwork-1.0.0.js brings a
// page that loaded jweixin before it (WeCom's documentation pairs it with
// jweixin 1.2.0; the tests use Tencent's jweixin 1.6.5 from npm), written
// from the wx.agentConfig of WeCom's own jweixin 1.0.0: it waits for the
// bridge, invokes "agentConfig" with corpid, agentid, timestamp, nonceStr,
// signature as strings and jsApiList, and calls success or fail (errMsg
// "agentConfig:<status>", a "fail_" prefix dropped and underscores made
// spaces), then complete. jwxwork itself is served only by WeCom (no npm
// package), hence this stand-in.
(function (w, d) {
	var wx = w.jWeixin || w.wx;
	if (!wx) return;
	function whenBridge(f) {
		if (w.WeixinJSBridge) f();
		else d.addEventListener("WeixinJSBridgeReady", f, false);
	}
	wx.agentConfig = function (t) {
		t = t || {};
		whenBridge(function () {
			var p = {corpid: t.corpid + "", agentid: t.agentid + "", timestamp: t.timestamp + "",
				nonceStr: t.nonceStr + "", signature: t.signature + "", jsApiList: t.jsApiList || []};
			w.WeixinJSBridge.invoke("agentConfig", p, function (res) {
				var raw = res.err_msg || "", k = raw.substring(raw.indexOf(":") + 1);
				if (k.indexOf("fail_") === 0) k = k.substring(5);
				k = k.replace(/_/g, " ");
				res.errMsg = "agentConfig:" + (k || "fail");
				delete res.err_msg;
				if (k === "ok") { if (typeof t.success === "function") t.success(res); }
				else if (typeof t.fail === "function") t.fail(res);
				if (typeof t.complete === "function") t.complete(res);
			});
		});
	};
})(window, document);

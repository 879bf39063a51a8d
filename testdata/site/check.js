// Demo only: shows the JS-SDK state on the page. wechat_jssdk injected the
// config and a boot script; with the sandbox's stub jweixin (sdk_url in
// Caddyfile.example) wx.config is checked the way WeChat's client checks it.
(function () {
	var out = document.getElementById("result");
	var el = document.getElementById("wechat-jssdk-config");
	if (!el) {
		out.textContent = "no wx.config was injected (is wechat_jssdk configured, and the sandbox up?)";
		out.className = "bad";
		out.setAttribute("data-state", "missing");
		return;
	}
	document.getElementById("config").textContent = JSON.stringify(JSON.parse(el.textContent), null, 2);
	window.addEventListener("wechat-jssdk:ready", function (e) {
		out.textContent = "wx.ready \u2714 signature valid for " + e.detail.url;
		out.className = "ok";
		out.setAttribute("data-state", "ready");
	});
	window.addEventListener("wechat-jssdk:error", function (e) {
		out.textContent = "wx.error \u2718 " + (e.detail && e.detail.errMsg);
		out.className = "bad";
		out.setAttribute("data-state", "error");
	});
})();

// Demo only: asks the sandbox (proxied under /sandbox/ by Caddyfile.example)
// whether the injected signature is valid for this page's URL, the way
// WeChat's client would check it.
(function () {
	var out = document.getElementById("result");
	var el = document.getElementById("wechat-jssdk-config");
	if (!el) {
		out.textContent = "no wx.config was injected (is wechat_jssdk configured, and the sandbox up?)";
		out.className = "bad";
		return;
	}
	var c = JSON.parse(el.textContent);
	document.getElementById("config").textContent = JSON.stringify(c, null, 2);
	var xhr = new XMLHttpRequest();
	xhr.open("POST", "/sandbox/verify");
	xhr.setRequestHeader("Content-Type", "application/json");
	xhr.onload = function () {
		var r = JSON.parse(xhr.responseText);
		out.textContent = r.ok ? "signature valid for " + location.href.split("#")[0] : "rejected: " + r.errmsg;
		out.className = r.ok ? "ok" : "bad";
	};
	xhr.send(JSON.stringify({appId: c.appId, timestamp: c.timestamp, nonceStr: c.nonceStr,
		signature: c.signature, url: location.href.split("#")[0]}));
})();

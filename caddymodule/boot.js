(function (w, d) {
	// ES5 only: this runs in old Android WebViews.
	var el = d.getElementById("wechat-jssdk-config");
	if (!el) return;
	var c;
	try { c = JSON.parse(el.textContent || el.innerHTML); } catch (e) { return; }
	var me = d.currentScript, done = false, loading = false;
	function configure() {
		if (done) return true;
		var wx = w.wx || w.jWeixin;
		if (!wx || typeof wx.config !== "function") return false;
		done = true;
		try {
			wx.config({debug: c.debug, appId: c.appId, timestamp: c.timestamp, nonceStr: c.nonceStr,
				signature: c.signature, jsApiList: c.jsApiList, openTagList: c.openTagList});
		} catch (e) {}
		return true;
	}
	function load() {
		if (configure() || loading || !SDK_URL) return;
		loading = true;
		var s = d.createElement("script");
		s.src = SDK_URL;
		if (me && me.nonce) s.nonce = me.nonce;
		s.onload = configure;
		(d.head || d.documentElement).appendChild(s);
	}
	if (configure()) return;
	if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", load);
	else load();
})(window, document);

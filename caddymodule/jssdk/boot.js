(function (w, d) {
	// ES5 only: this runs in old Android WebViews.
	var el = d.getElementById("wechat-jssdk-config");
	if (!el || w.__wechatJSSDK) return;
	var c;
	try { c = JSON.parse(el.textContent || el.innerHTML); } catch (e) { return; }
	var me = d.currentScript, ep = CONFIG_ENDPOINT, state = {config: c, configured: false};
	w.__wechatJSSDK = state;
	// iOS WeChat checks the signature against the URL the page was first
	// loaded with, so the landing signature stays right there; Android and
	// the others check the current URL, which a history-mode router changes.
	var ua = w.navigator.userAgent;
	var ios = /MicroMessenger/i.test(ua) && /iPhone|iPad|iPod/i.test(ua);
	var signed = c.url, seq = 0, loading = false, hooked = false, retried = false;
	function emit(name, detail) {
		var e;
		try { e = new CustomEvent(name, {detail: detail}); } catch (x) {
			e = d.createEvent("CustomEvent");
			e.initCustomEvent(name, false, false, detail);
		}
		w.dispatchEvent(e);
	}
	function sdk() {
		var wx = w.wx || w.jWeixin;
		return wx && typeof wx.config === "function" ? wx : null;
	}
	function apply(wx, o) {
		if (!hooked) {
			hooked = true;
			if (typeof wx.ready === "function") wx.ready(function () { emit("wechat-jssdk:ready", {url: signed}); });
			if (typeof wx.error === "function") wx.error(function (err) {
				// A ticket can be invalidated without notice (another service of
				// the account rotated it): ask once for a signature from a fresh
				// ticket before giving up.
				if (ep && !retried && /invalid signature/i.test(err && err.errMsg || "")) {
					retried = true;
					resign(true);
					return;
				}
				emit("wechat-jssdk:error", err);
			});
		}
		try {
			wx.config({debug: o.debug, appId: o.appId, timestamp: o.timestamp, nonceStr: o.nonceStr,
				signature: o.signature, jsApiList: o.jsApiList, openTagList: o.openTagList});
		} catch (e) {}
	}
	function here() { return w.location.href.split("#")[0]; }
	function resign(retry) {
		// a retry re-signs the URL WeChat checks: the landing one on iOS
		var url = retry && ios ? signed : here();
		if (url === signed && !retry) return;
		var my = ++seq, x = new XMLHttpRequest();
		x.open("GET", ep + "?url=" + encodeURIComponent(url) + (retry ? "&retry=1" : ""));
		x.onload = function () {
			if (my !== seq || x.status !== 200) return;
			var o;
			try { o = JSON.parse(x.responseText); } catch (e) { return; }
			signed = o.url || url;
			state.config = o;
			var wx = sdk();
			if (wx) apply(wx, o);
		};
		x.send();
	}
	function watch() {
		if (!ep || ios) return;
		var h = w.history;
		function wrap(name) {
			var orig = h[name];
			if (typeof orig !== "function") return;
			h[name] = function () {
				var r = orig.apply(this, arguments);
				resign(false);
				return r;
			};
		}
		wrap("pushState");
		wrap("replaceState");
		w.addEventListener("popstate", function () { resign(false); });
	}
	function configure() {
		if (state.configured) return true;
		var wx = sdk();
		if (!wx) return false;
		state.configured = true;
		apply(wx, c);
		watch();
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

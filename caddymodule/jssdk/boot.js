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
	var signed = c.url, seq = 0, loading = false, retried = false;
	// jweixin runs the wx.ready callbacks when the first wx.config completes,
	// failed or not, and keeps one wx.error callback, the last one given. So
	// the page's callbacks are held here: ready ones run once a config
	// verified (or after the final failure, as jweixin would), error ones
	// hear only a failure the retry did not heal. settled: 0 pending, else
	// how the last config ended (1 verified, -1 failed); cur is the config
	// in flight.
	var sdk, cur, settled = 0, lastErr, readyFns = [], errorFns = [];
	function emit(name, detail) {
		var e;
		try { e = new CustomEvent(name, {detail: detail}); } catch (x) {
			e = d.createEvent("CustomEvent");
			e.initCustomEvent(name, false, false, detail);
		}
		w.dispatchEvent(e);
	}
	function run(f, a) {
		try { f(a); } catch (e) { setTimeout(function () { throw e; }, 0); }
	}
	function found() {
		var wx = w.wx || w.jWeixin;
		return wx && typeof wx.config === "function" ? wx : null;
	}
	function hook(wx) {
		var rd = wx.ready, er = wx.error;
		sdk = wx;
		if (typeof rd !== "function" || typeof er !== "function") return;
		wx.ready = function (f) { if (settled) rd.call(wx, f); else readyFns.push(f); };
		wx.error = function (f) { errorFns.push(f); if (settled < 0) run(f, lastErr); };
		rd.call(wx, done);
		er.call(wx, failed);
	}
	// A config completed: jweixin's ready queue (first config only),
	// another SDK's ready, or the client's answer to preVerifyJSAPI (spy).
	function done() {
		if (!cur || cur.over) return;
		cur.over = 1;
		emit("wechat-jssdk:ready", {url: cur.url});
		settle(1);
	}
	function failed(err) {
		if (cur && !cur.over) {
			cur.over = 1;
			// A ticket can be invalidated without notice (another service of
			// the account rotated it): ask once for a signature from a fresh
			// ticket before giving up.
			if (ep && !retried && /invalid signature/i.test(err && err.errMsg || "")) {
				retried = true;
				resign(true, err);
				return;
			}
		}
		fail(err);
	}
	// the final failure: error callbacks first, then ready, as jweixin
	// runs them for a failed config
	function fail(err) {
		emit("wechat-jssdk:error", err);
		lastErr = err;
		for (var i = 0; i < errorFns.length; i++) run(errorFns[i], err);
		settle(-1);
	}
	function settle(s) {
		settled = s;
		while (readyFns.length) run(readyFns.shift());
	}
	// jweixin tells nothing when a later config verifies: the client's
	// answer to preVerifyJSAPI does.
	function spy() {
		var b = w.WeixinJSBridge, inv = b && b.invoke;
		if (!inv || inv.wj) return;
		b.invoke = function (name, a, cb) {
			return inv.call(b, name, a, name !== "preVerifyJSAPI" ? cb : function (r) {
				if (cb) cb(r);
				done();
			});
		};
		b.invoke.wj = 1;
	}
	function apply(wx, o) {
		cur = {url: signed};
		spy();
		try {
			wx.config({debug: o.debug, appId: o.appId, timestamp: o.timestamp, nonceStr: o.nonceStr,
				signature: o.signature, jsApiList: o.jsApiList, openTagList: o.openTagList});
		} catch (e) {}
	}
	function here() { return w.location.href.split("#")[0]; }
	function resign(retry, err) {
		// a retry re-signs the URL WeChat checks: the landing one on iOS
		var url = retry && ios ? signed : here();
		if (url === signed && !retry) return;
		var my = ++seq, x = new XMLHttpRequest();
		x.open("GET", ep + "?url=" + encodeURIComponent(url) + (retry ? "&retry=1" : ""));
		x.onload = x.onerror = function () {
			if (my !== seq) return;
			var o;
			try { o = x.status === 200 && JSON.parse(x.responseText); } catch (e) {}
			if (!o) {
				if (retry) fail(err);
				return;
			}
			signed = o.url || url;
			state.config = o;
			if (sdk) apply(sdk, o);
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
		var wx = found();
		if (!wx) return false;
		state.configured = true;
		hook(wx);
		apply(wx, c);
		watch();
		return true;
	}
	// See jweixin the moment it is assigned, before the page's next script
	// can call wx.ready: whether the page loads it or sdk_url does.
	function trap(name) {
		var v = w[name];
		try {
			Object.defineProperty(w, name, {configurable: true, enumerable: true,
				get: function () { return v; },
				set: function (x) { v = x; configure(); }});
		} catch (e) {}
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
	d.addEventListener("WeixinJSBridgeReady", spy, false);
	if (configure()) return;
	trap("wx");
	trap("jWeixin");
	if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", load);
	else load();
})(window, document);

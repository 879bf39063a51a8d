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
	// wecom {
	// WeCom's client (its user agent says wxwork, and MicroMessenger too)
	// checks both signatures against the current URL on every platform: so
	// does @wecom/jssdk sign them.
	var wxwork = /wxwork/i.test(ua);
	if (wxwork) ios = false;
	// } wecom
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
		// wecom {
		if (agent(cur)) return;
		// } wecom
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
				// wecom {
				beta: true,
				// } wecom
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
		// wecom {
		wwon();
		// } wecom
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
		// wecom {
		wwon();
		if (wsdk) return;
		// } wecom
		if (configure() || loading || !SDK_URL) return;
		loading = true;
		var s = d.createElement("script");
		s.src = SDK_URL;
		if (me && me.nonce) s.nonce = me.nonce;
		s.onload = configure;
		(d.head || d.documentElement).appendChild(s);
	}
	// wecom {
	// WeCom (企业微信) mode: the block also carries corpId, agentId and
	// agentConfig, wx.agentConfig's half, signed with the app's own ticket.
	//
	// jweixin (WeCom's own, or jweixin with jwxwork): once a wx.config
	// verified, wx.agentConfig follows (in WeCom's client only, where it
	// exists), and the page's wx.ready callbacks and the ready event wait
	// for it; an agentConfig refused for its signature is retried once with
	// a fresh agent signature alone (retry=agent), and a final failure is
	// the page's wx.error as a failed wx.config is.
	//
	// @wecom/jssdk (the global ww): ww.register gets the corp and agent IDs,
	// both API lists and two signature callbacks, answered from the block
	// for the landing URL and from the config endpoint for any other; ww
	// decides which it needs and when (agentConfig alone from WeCom 3.0.24,
	// config first before; again when the URL changed). A page's own
	// ww.register is merged in (its options win, its callbacks are held as
	// wx.ready's are), and a signature refused as invalid is asked once
	// more from a fresh ticket of its kind only (retry=config or agent).
	var wsdk, wr, held = {}, rq = "", used = {}, pend, tried = {}, healed = [], wbad = {};
	var list = (c.jsApiList || []).slice(), more = (c.agentConfig || {}).jsApiList || [];
	for (var i = 0; i < more.length; i++) if (list.indexOf(more[i]) < 0) list.push(more[i]);
	function bad(err) { return /invalid\W?signature/i.test(err && err.errMsg || ""); }
	function get(url, retry, cb) {
		var x = new XMLHttpRequest();
		x.open("GET", ep + "?url=" + encodeURIComponent(url) + (retry ? "&retry=" + retry : ""));
		x.onload = x.onerror = function () {
			var o;
			try { o = x.status === 200 && JSON.parse(x.responseText); } catch (e) {}
			cb(o || null);
		};
		x.send();
	}
	// jweixin: wx.agentConfig for the config k that just verified; false
	// when there is none to make
	function agent(k) {
		var a = state.config.agentConfig, x = sdk, p = {}, n;
		// jwxwork may have put it on the other name
		if (typeof x.agentConfig !== "function") x = w.wx && w.wx.agentConfig ? w.wx : w.jWeixin;
		if (!wxwork || !a || !x || typeof x.agentConfig !== "function") return false;
		for (n in a) p[n] = a[n];
		p.success = function () {
			if (k !== cur) return;
			emit("wechat-jssdk:ready", {url: k.url});
			settle(1);
		};
		p.fail = function (err) {
			if (k !== cur) return;
			if (ep && !tried.wx && bad(err)) {
				tried.wx = 1;
				get(k.url, "agent", function (o) {
					if (k !== cur) return;
					if (o) state.config = o;
					if (!o || !agent(k)) fail(err);
				});
				return;
			}
			fail(err);
		};
		try { x.agentConfig(p); } catch (e) { return false; }
		return true;
	}
	// @wecom/jssdk: the signature of kind ("config" or "agent") for url u
	function sig(u, kind) {
		var r = rq, q = {u: u};
		rq = "";
		function part(o) { return kind === "agent" ? o.agentConfig : o; }
		if (!r && u === c.url && !used[kind]) {
			used[kind] = 1;
			return part(c);
		}
		// ww asks for both at once before WeCom 3.0.24: one request
		if (!r && pend && pend.u === u) return pend.p.then(part);
		// a retry that cannot be had fails with the refusal it was for
		var err = r && wbad[kind] || {errMsg: (kind === "agent" ? "agentConfig" : "config") + ":fail, no signature from the config endpoint"};
		q.p = new w.Promise(function (ok, no) {
			if (!ep) return no(err);
			get(u, r, function (o) {
				if (pend === q) pend = null;
				if (o) ok(o);
				else no(err);
			});
		});
		pend = q;
		return q.p.then(part);
	}
	// what ww reports of a config (K "Config") or agentConfig (K
	// "AgentConfig"): ok, or failed with r
	function fin(K, r, ok) {
		var kind = K === "Config" ? "config" : "agent";
		var own = kind === "config" || /^agentConfig/.test(r && r.errMsg || "");
		if (!ok && own && ep && !tried[kind] && bad(r) && typeof wsdk.ensureConfigReady === "function") {
			tried[kind] = 1;
			wbad[kind] = r;
			healed.push(r);
			rq = rq ? rq + "," + kind : kind;
			// once ww has settled every task that failed with it
			setTimeout(function () { wsdk.ensureConfigReady().then(null, function () {}); }, 0);
			return;
		}
		// before WeCom 3.0.24 a failed config fails the agentConfig too
		if (!ok && !own && rq) {
			healed.push(r);
			return;
		}
		var f = held["on" + K + (ok ? "Success" : "Fail")], g = held["on" + K + "Complete"];
		if (typeof f === "function") run(f, r);
		if (typeof g === "function") run(g, r);
		if (!ok && own) emit("wechat-jssdk:error", r);
		if (ok && (kind === "agent" || !wxwork)) emit("wechat-jssdk:ready", {url: here()});
	}
	function on(K, ok) { return function (r) { fin(K, r, ok); }; }
	function wreg(x, r, o) {
		var m = {}, k;
		wsdk = x;
		wr = r;
		held = o || {};
		for (k in held) m[k] = held[k];
		m.corpId = m.corpId || c.corpId;
		m.agentId = m.agentId || c.agentId;
		m.jsApiList = m.jsApiList || list;
		m.openTagList = m.openTagList || c.openTagList;
		m.getConfigSignature = m.getConfigSignature || function (u) { return sig(u, "config"); };
		m.getAgentConfigSignature = m.getAgentConfigSignature || function (u) { return sig(u, "agent"); };
		m.onConfigSuccess = on("Config", 1);
		m.onConfigFail = on("Config", 0);
		m.onAgentConfigSuccess = on("AgentConfig", 1);
		m.onAgentConfigFail = on("AgentConfig", 0);
		m.onConfigComplete = m.onAgentConfigComplete = null;
		return r.call(x, m);
	}
	// the global ww, the moment it is there (trap)
	function wwon() {
		var x = w.ww, r = x && x.register;
		if (typeof r !== "function" || x === wsdk) return;
		try { x.register = function (o) { return wreg(x, r, o); }; } catch (e) {}
		wreg(x, r);
	}
	// a bundle's own @wecom/jssdk (no global): the page calls
	// __wechatJSSDK.register(ww[, options]) instead of ww.register
	state.register = function (x, o) { return wreg(x, x === wsdk ? wr : x.register, o); };
	// ww.register drops the promise of the handshake it starts: a failure
	// the retry heals would reach the page's error reporting all the same
	w.addEventListener("unhandledrejection", function (e) {
		if (healed.indexOf(e.reason) < 0) return;
		e.preventDefault();
		e.stopImmediatePropagation();
	});
	trap("ww");
	// } wecom
	d.addEventListener("WeixinJSBridgeReady", spy, false);
	if (configure()) return;
	trap("wx");
	trap("jWeixin");
	if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", load);
	else load();
})(window, document);

(function (w, d) {
	// The wechat_sandbox stand-in for the WeCom client's half of the JS-SDK: a
	// WeixinJSBridge whose preVerifyJSAPI (what wx.config invokes) and
	// agentConfig (what wx.agentConfig invokes) check the signatures through
	// the sandbox's /sandbox/wecom/verify, as the client checks them with
	// WeCom; any other call succeeds while a verified config still holds for
	// the page's URL. ES5. window.__wecomSandbox exposes counts and a log.
	if (w.__wecomSandbox) return; // loaded twice: the first one stays
	var sandbox = SANDBOX_ORIGIN;
	var ua = w.navigator.userAgent;
	var m = /wxwork\/([\d.]+)/i.exec(ua);
	var wecomVersion = m ? m[1] : "";
	var wechat = !wecomVersion && /MicroMessenger/i.test(ua);
	// WeChat's iOS client checks wx.config against the URL the page was first
	// loaded with; WeCom checks both configs against the current one.
	var iosWeChat = wechat && /iPhone|iPad|iPod/i.test(ua);
	function href() { return w.location.href.split("#")[0]; }
	var landing = href();
	function configURL() { return iosWeChat ? landing : href(); }

	function older(v, than) {
		var a = v.split("."), b = than.split(".");
		for (var i = 0; i < Math.max(a.length, b.length); i++) {
			var x = parseInt(a[i], 10) || 0, y = parseInt(b[i], 10) || 0;
			if (x !== y) return x < y;
		}
		return false;
	}

	// config and agentConfig are the last verified ones (null after a failure).
	var st = {wecomVersion: wecomVersion, wechat: wechat, landing: landing,
		// WeCom before 3.0.24 takes wx.agentConfig only after a wx.config succeeded
		before3024: !!wecomVersion && older(wecomVersion, "3.0.24"),
		configs: 0, agentConfigs: 0, config: null, agentConfig: null, log: []};

	function check(body, done) {
		var x = new XMLHttpRequest();
		x.open("POST", sandbox + "/sandbox/wecom/verify");
		// text/plain keeps it a simple cross-origin request (no preflight);
		// the sandbox lets the page read the answer when the page's origin
		// is in its allow_origin
		x.setRequestHeader("Content-Type", "text/plain");
		x.onload = function () {
			var r;
			try { r = JSON.parse(x.responseText); } catch (e) { r = {ok: false, errmsg: "unreadable verify answer"}; }
			done(r);
		};
		x.onerror = function () { done({ok: false, errmsg: "sandbox unreachable, or this page's origin is not in its allow_origin"}); };
		x.send(JSON.stringify(body));
	}

	function result(name, ok, msg) { return {err_msg: name + (ok ? ":ok" : ":fail," + msg)}; }
	function verdict(r, key) { return r[key] || {ok: false, errmsg: r.errmsg || "invalid signature"}; }
	function later(cb, res) { setTimeout(function () { if (typeof cb === "function") cb(res); }, 0); }
	function copy(o, extra) {
		var c = {}, k;
		for (k in o) if (Object.prototype.hasOwnProperty.call(o, k)) c[k] = o[k];
		for (k in extra) c[k] = extra[k];
		return c;
	}

	function preVerify(p, cb) {
		var n = ++st.configs;
		var cfg = {appId: p.verifyAppId || p.appId, timestamp: p.verifyTimestamp, nonceStr: p.verifyNonceStr,
			signature: p.verifySignature};
		var url = configURL();
		check({url: url, config: cfg}, function (r) {
			var v = verdict(r, "config");
			if (n === st.configs) st.config = v.ok ? cfg : null; // a newer one supersedes it
			st.log.push({config: n, url: url, ok: !!v.ok, errmsg: v.errmsg || "", reason: v.reason || ""});
			if (typeof cb === "function") cb(result("preVerifyJSAPI", v.ok, v.errmsg));
		});
	}

	function agentConfig(p, cb) {
		var n = ++st.agentConfigs;
		var cfg = {corpid: p.corpid, agentid: p.agentid, timestamp: p.timestamp, nonceStr: p.nonceStr,
			signature: p.signature};
		var url = href();
		if (st.before3024 && !st.config) {
			var msg = "before WeCom 3.0.24, wx.agentConfig needs a successful wx.config first";
			st.log.push({agentConfig: n, url: url, ok: false, errmsg: msg, reason: "config_first"});
			later(cb, result("agentConfig", false, msg));
			return;
		}
		check({url: url, agentConfig: cfg}, function (r) {
			var v = verdict(r, "agentConfig");
			if (n === st.agentConfigs) st.agentConfig = v.ok ? cfg : null;
			st.log.push({agentConfig: n, url: url, ok: !!v.ok, errmsg: v.errmsg || "", reason: v.reason || ""});
			if (typeof cb === "function") cb(result("agentConfig", v.ok, v.errmsg));
		});
	}

	// api answers any other call: it succeeds while the last verified
	// agentConfig or config still holds for the URL the client checks now.
	function api(name, p, cb) {
		var body = {};
		if (st.agentConfig) body.agentConfig = copy(st.agentConfig, {url: href()});
		if (st.config) body.config = copy(st.config, {url: configURL()});
		if (!st.agentConfig && !st.config) {
			st.log.push({api: name, url: href(), ok: false});
			later(cb, result(name, false, "the permission value is offline verifying"));
			return;
		}
		check(body, function (r) {
			var ok = !!((r.agentConfig && r.agentConfig.ok) || (r.config && r.config.ok));
			st.log.push({api: name, url: href(), ok: ok});
			var res = result(name, ok, "invalid signature");
			if (ok && name === "checkJsApi") {
				res.checkResult = {};
				var list = p.jsApiList || [];
				for (var i = 0; i < list.length; i++) res.checkResult[list[i]] = true;
			}
			if (typeof cb === "function") cb(res);
		});
	}

	var handlers = {};
	var bridge = {
		invoke: function (name, params, cb) {
			params = params || {};
			if (name === "preVerifyJSAPI") preVerify(params, cb);
			else if (name === "agentConfig") agentConfig(params, cb);
			else api(name, params, cb);
		},
		on: function (name, cb) { handlers[name] = cb; }
	};
	// The stubs call these, whatever window.WeixinJSBridge is.
	st.invoke = bridge.invoke;
	st.on = bridge.on;
	w.__wecomSandbox = st;
	if (!w.WeixinJSBridge) {
		w.WeixinJSBridge = bridge;
		setTimeout(function () { // for SDKs that loaded first and wait for it
			var e;
			try { e = new Event("WeixinJSBridgeReady"); } catch (x) { e = d.createEvent("Event"); e.initEvent("WeixinJSBridgeReady", false, false); }
			d.dispatchEvent(e);
		}, 0);
	}
})(window, document);

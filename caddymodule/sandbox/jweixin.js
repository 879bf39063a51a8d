(function (w, d) {
	// The wechat_sandbox stand-in for WeChat's jweixin: the same wx object,
	// checked the way WeChat's client checks it. ES5, like the real one.
	var sandbox = SANDBOX_ORIGIN;
	// iOS WeChat checks signatures against the URL the page was first
	// loaded with; Android and others against the current one.
	var landing = w.location.href.split("#")[0];
	var ua = w.navigator.userAgent;
	var ios = /MicroMessenger/i.test(ua) && /iPhone|iPad|iPod/i.test(ua);
	var readyFns = [], errorFns = [];
	var state = {ios: ios, landing: landing, configs: 0, ready: 0, errors: 0, valid: false, config: null, log: []};

	function checkedURL() { return ios ? landing : w.location.href.split("#")[0]; }

	function verify(cfg, url, done) {
		var x = new XMLHttpRequest();
		x.open("POST", sandbox + "/sandbox/verify");
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
		x.send(JSON.stringify({appId: cfg.appId, timestamp: cfg.timestamp, nonceStr: cfg.nonceStr,
			signature: cfg.signature, url: url}));
	}

	function each(fns, arg) {
		for (var i = 0; i < fns.length; i++) {
			try { fns[i](arg); } catch (e) { setTimeout(function () { throw e; }, 0); }
		}
	}

	function callback(o, name, res) {
		if (o && typeof o[name] === "function") o[name](res);
		if (o && typeof o.complete === "function") o.complete(res);
	}

	// api returns a JS-SDK call that succeeds only while the last config
	// is valid for the URL WeChat would check now.
	function api(name) {
		return function (o) {
			var cfg = state.config;
			if (!cfg) { callback(o, "fail", {errMsg: name + ":fail, the permission value is offline verifying"}); return; }
			verify(cfg, checkedURL(), function (r) {
				state.log.push({api: name, url: checkedURL(), ok: r.ok});
				if (r.ok) callback(o, "success", {errMsg: name + ":ok"});
				else callback(o, "fail", {errMsg: name + ":fail, invalid signature"});
			});
		};
	}

	var wx = {
		config: function (cfg) {
			state.configs++;
			state.config = cfg;
			state.valid = false;
			var url = checkedURL();
			verify(cfg, url, function (r) {
				if (state.config !== cfg) return; // a newer config superseded this one
				state.log.push({config: state.configs, url: url, ok: r.ok, errmsg: r.errmsg || ""});
				if (r.ok) {
					state.valid = true;
					state.ready++;
					each(readyFns);
				} else {
					state.errors++;
					each(errorFns, {errMsg: "config:" + (r.errmsg || "invalid signature")});
				}
			});
		},
		ready: function (fn) {
			readyFns.push(fn);
			if (state.valid) { try { fn(); } catch (e) { setTimeout(function () { throw e; }, 0); } }
		},
		error: function (fn) { errorFns.push(fn); }
	};
	// chooseWXPay checks the config like any API, then the paySign the way
	// WeChat's client does before it opens the payment sheet.
	function pay(name, params, done) {
		var cfg = state.config;
		if (!cfg) { done(false, name + ":fail, the permission value is offline verifying"); return; }
		verify(cfg, checkedURL(), function (r) {
			if (!r.ok) { done(false, name + ":fail, invalid signature"); return; }
			var x = new XMLHttpRequest();
			x.open("POST", sandbox + "/sandbox/pay/verify");
			x.setRequestHeader("Content-Type", "text/plain");
			x.onload = function () {
				var v;
				try { v = JSON.parse(x.responseText); } catch (e) { v = {ok: false, errmsg: "unreadable answer"}; }
				state.log.push({pay: params["package"], ok: v.ok, errmsg: v.errmsg || ""});
				done(v.ok, v.ok ? name + ":ok" : name + ":fail, " + v.errmsg);
			};
			x.onerror = function () { done(false, name + ":fail, sandbox unreachable, or this page's origin is not in its allow_origin"); };
			x.send(JSON.stringify({appId: params.appId || cfg.appId, timeStamp: String(params.timeStamp || params.timestamp),
				nonceStr: params.nonceStr, "package": params["package"], signType: params.signType, paySign: params.paySign}));
		});
	}

	var apis = ["checkJsApi", "updateAppMessageShareData", "updateTimelineShareData", "onMenuShareAppMessage",
		"onMenuShareTimeline", "getNetworkType", "getLocation", "openLocation", "scanQRCode", "chooseImage",
		"previewImage", "hideMenuItems", "showMenuItems", "closeWindow"];
	for (var i = 0; i < apis.length; i++) wx[apis[i]] = api(apis[i]);

	wx.chooseWXPay = function (o) {
		pay("chooseWXPay", o || {}, function (ok, msg) { callback(o, ok ? "success" : "fail", {errMsg: msg}); });
	};
	w.wx = w.jWeixin = wx;
	// The older bridge call, for pages that pay through it.
	w.WeixinJSBridge = w.WeixinJSBridge || {
		invoke: function (name, params, cb) {
			if (name !== "getBrandWCPayRequest") { if (cb) cb({err_msg: name + ":fail"}); return; }
			pay("get_brand_wcpay_request", params || {}, function (ok, msg) { if (cb) cb({err_msg: ok ? "get_brand_wcpay_request:ok" : msg}); });
		}
	};
	w.__wechatSandbox = state;
})(window, document);

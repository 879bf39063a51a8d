(function (w) {
	// The wechat_sandbox stand-in for @wecom/jssdk's global ww, through the
	// emulated client above. ww.register({corpId, agentId, jsApiList,
	// getConfigSignature(url), getAgentConfigSignature(url), onConfigSuccess,
	// onConfigFail, onConfigComplete, onAgentConfigSuccess, …}) runs the
	// handshake as the real SDK does: each callback may answer
	// {timestamp, nonceStr, signature} or a Promise of it; WeCom 3.0.24 and
	// later (user agent wxwork/3.0.24+) take wx.agentConfig alone when
	// getAgentConfigSignature is given; older WeCom — and, for the stub, a
	// browser whose user agent says neither wxwork nor MicroMessenger — run
	// wx.config first, then wx.agentConfig, so both callbacks are called and
	// both signatures checked; WeChat takes wx.config alone. A config is
	// redone when the URL has changed, or after it failed, at the next call.
	// ES5 with Promise. window.__wecomSandbox.ww counts the calls.
	var sb = w.__wecomSandbox;
	var desktop = /Win|Mac/i.test(w.navigator.platform || "");
	var configFirst = !sb.wechat && (!sb.wecomVersion || sb.before3024);
	var opts = null, corpTask = null, agentTask = null;
	var st = sb.ww = {registers: 0, getConfigSignature: 0, getAgentConfigSignature: 0,
		configOK: 0, configFail: 0, agentConfigOK: 0, agentConfigFail: 0, errors: []};

	function href() { return w.location.href.split("#")[0]; }
	function safe(fn, arg) {
		if (typeof fn !== "function") return;
		try { fn(arg); } catch (e) { setTimeout(function () { throw e; }, 0); }
	}
	function keyword(m) { m = m || ""; return m.substring(m.indexOf(":") + 1); }
	function message(err) { return (err && (err.errMsg || err.message)) || String(err); }

	// invoke calls the client and settles with its answer, errMsg and
	// errCode set as @wecom/jssdk sets them.
	function invoke(name, params) {
		return new Promise(function (resolve, reject) {
			sb.invoke(name, params || {}, function (res) {
				var out = {}, k;
				for (k in res) if (k !== "err_msg") out[k] = res[k];
				k = keyword(res.errMsg || res.err_msg);
				out.errMsg = name + ":" + k;
				out.errCode = k === "ok" || k === "yes" ? 0 : -1;
				if (k === "ok" || k === "yes") resolve(out); else reject(out);
			});
		});
	}
	function live(task, url) { return task && task.url === url && !task.failed; }
	function settle(task, kind, ok, fail, complete) {
		task.promise.then(function (res) {
			st[kind + "OK"]++;
			safe(opts && opts[ok], res.result);
			safe(opts && opts[complete], res.result);
		}, function (err) {
			task.failed = true;
			st[kind + "Fail"]++;
			st.errors.push(kind + ": " + message(err));
			safe(opts && opts[fail], err);
			safe(opts && opts[complete], err);
		});
	}

	function ensureCorpConfigReady() {
		// WeChat on a phone signs the landing URL, as its client checks it.
		var url = sb.wechat && !desktop ? sb.landing : href();
		if (live(corpTask, url)) return corpTask.promise;
		var task = {url: url, failed: false};
		task.promise = Promise.resolve().then(function () {
			if (!opts || typeof opts.getConfigSignature !== "function") throw new Error("SDK Error: Missing getConfigSignature");
			st.getConfigSignature++;
			return opts.getConfigSignature(url);
		}).then(function (data) {
			data = data || {};
			var params = {appId: opts.corpId, timestamp: "" + data.timestamp, nonceStr: data.nonceStr,
				signature: data.signature, jsApiList: opts.jsApiList || ["config"], openTagList: opts.openTagList || []};
			return invoke("preVerifyJSAPI", {appId: params.appId, verifyJsApiList: params.jsApiList,
				verifyOpenTagList: params.openTagList, verifyAppId: params.appId, verifySignType: "sha1",
				verifyTimestamp: params.timestamp, verifyNonceStr: params.nonceStr, verifySignature: params.signature
			}).then(function (result) { return {params: params, result: result}; });
		});
		corpTask = task;
		settle(task, "config", "onConfigSuccess", "onConfigFail", "onConfigComplete");
		return task.promise;
	}

	function ensureAgentConfigReady() {
		var url = href();
		if (live(agentTask, url)) return agentTask.promise;
		var task = {url: url, failed: false};
		task.promise = Promise.all([
			Promise.resolve().then(function () {
				if (!opts || typeof opts.getAgentConfigSignature !== "function") throw new Error("SDK Error: Missing getAgentConfigSignature");
				st.getAgentConfigSignature++;
				return opts.getAgentConfigSignature(url);
			}),
			configFirst ? ensureCorpConfigReady() : null
		]).then(function (v) {
			var data = v[0] || {};
			var params = {corpid: opts.corpId, agentid: "" + opts.agentId, timestamp: "" + data.timestamp,
				nonceStr: data.nonceStr, signature: data.signature, jsApiList: opts.jsApiList || ["agentConfig"]};
			return invoke("agentConfig", params).then(function (result) { return {params: params, result: result}; });
		});
		agentTask = task;
		settle(task, "agentConfig", "onAgentConfigSuccess", "onAgentConfigFail", "onAgentConfigComplete");
		return task.promise;
	}

	function agentMode() { return !sb.wechat && !!opts && typeof opts.getAgentConfigSignature === "function"; }
	function ensureConfigReady() { return agentMode() ? ensureAgentConfigReady() : ensureCorpConfigReady(); }
	function tryEnsureConfigReady() {
		if (agentMode()) return ensureAgentConfigReady();
		if (opts && typeof opts.getConfigSignature === "function") return ensureCorpConfigReady();
		return Promise.resolve();
	}

	// passthrough is an API call: the config first, then the call, with the
	// success/fail/cancel/complete callbacks besides the Promise.
	function passthrough(name, params) {
		params = params || {};
		return tryEnsureConfigReady().then(function () { return invoke(name, params); }).then(function (res) {
			safe(params.success, res);
			safe(params.complete, res);
			return res;
		}, function (err) {
			safe(keyword(err && err.errMsg) === "cancel" ? params.cancel : params.fail, err);
			safe(params.complete, err);
			throw err;
		});
	}

	var ww = {
		SDK_VERSION: "sandbox",
		IS_WECOM_SDK: true,
		isWeixinJSBridgeReady: true,
		onWeixinJSBridgeReady: Promise.resolve(),
		register: function (options) {
			if (!options || !options.corpId) throw new Error("Missing corpId");
			opts = options;
			st.registers++;
			tryEnsureConfigReady(); // its outcome goes to the on…Success/Fail callbacks
		},
		ensureConfigReady: ensureConfigReady,
		ensureCorpConfigReady: ensureCorpConfigReady,
		ensureAgentConfigReady: ensureAgentConfigReady,
		invoke: function (name, params, cb) {
			return invoke(name, params).then(function (r) { safe(cb, r); return r; }, function (e) { safe(cb, e); throw e; });
		},
		on: function (name, cb) { sb.on(name, cb); return Promise.resolve(); }
	};
	var apis = ["checkJsApi", "getContext", "getCurExternalContact", "getCurExternalChat", "selectExternalContact",
		"selectEnterpriseContact", "openEnterpriseChat", "sendChatMessage", "shareAppMessage", "shareWechatMessage",
		"getNetworkType", "getLocation", "scanQRCode", "chooseImage", "previewImage", "hideMenuItems", "showMenuItems",
		"closeWindow", "openDefaultBrowser", "updateAppMessageShareData", "updateTimelineShareData"];
	for (var i = 0; i < apis.length; i++) {
		ww[apis[i]] = (function (name) { return function (params) { return passthrough(name, params); }; })(apis[i]);
	}
	w.ww = ww;
})(window);

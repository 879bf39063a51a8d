(function (w) {
	// The wechat_sandbox stand-in for the jweixin WeCom pages load (with
	// WeCom's wx.agentConfig): wx.config, wx.ready, wx.error, wx.agentConfig,
	// wx.invoke and a few APIs, through the emulated client above. wx.ready
	// callbacks run after every successful wx.config, wx.error ones after a
	// failed one (errMsg "config:fail,invalid signature…"); wx.agentConfig
	// answers its success or fail callback (errMsg "agentConfig:ok" or
	// "agentConfig:fail,…"), then complete. ES5. window.__wecomSandbox.wx
	// counts them.
	var sb = w.__wecomSandbox;
	var readyFns = [], errorFns = [], current = null, valid = false;
	var st = sb.wx = {configs: 0, ready: 0, errors: 0, agentConfigs: 0, agentConfigOK: 0, agentConfigFail: 0};

	function each(fns, arg) {
		for (var i = 0; i < fns.length; i++) {
			try { fns[i](arg); } catch (e) { setTimeout(function () { throw e; }, 0); }
		}
	}
	function keyword(res) {
		var m = (res && (res.err_msg || res.errMsg)) || "";
		return m.substring(m.indexOf(":") + 1);
	}
	// web turns the client's answer into the one jweixin hands the page.
	function web(name, res) {
		var out = {};
		for (var k in res) if (k !== "err_msg") out[k] = res[k];
		out.errMsg = name + ":" + keyword(res);
		return out;
	}
	function callback(o, res) {
		if (!o) return;
		var k = keyword(res);
		var fn = k === "ok" ? o.success : k === "cancel" ? o.cancel : o.fail;
		if (typeof fn === "function") fn(res);
		if (typeof o.complete === "function") o.complete(res);
	}
	// withVerify adds the config's signature to a call, as jweixin does.
	function withVerify(p) {
		var c = {};
		for (var k in p) c[k] = p[k];
		if (current) {
			c.appId = c.verifyAppId = current.appId;
			c.verifySignType = "sha1";
			c.verifyTimestamp = current.timestamp + "";
			c.verifyNonceStr = current.nonceStr;
			c.verifySignature = current.signature;
		}
		return c;
	}

	var wx = {
		config: function (cfg) {
			cfg = cfg || {};
			st.configs++;
			current = cfg;
			valid = false;
			sb.invoke("preVerifyJSAPI", withVerify({verifyJsApiList: cfg.jsApiList || [], verifyOpenTagList: cfg.openTagList || []}),
				function (res) {
					if (current !== cfg) return; // a newer config superseded this one
					if (keyword(res) === "ok") {
						valid = true;
						st.ready++;
						each(readyFns);
					} else {
						st.errors++;
						each(errorFns, {errMsg: "config:" + keyword(res)});
					}
				});
		},
		ready: function (fn) {
			readyFns.push(fn);
			if (valid) { try { fn(); } catch (e) { setTimeout(function () { throw e; }, 0); } }
		},
		error: function (fn) { errorFns.push(fn); },
		agentConfig: function (cfg) {
			cfg = cfg || {};
			st.agentConfigs++;
			sb.invoke("agentConfig", {corpid: cfg.corpid, agentid: cfg.agentid + "", timestamp: cfg.timestamp + "",
				nonceStr: cfg.nonceStr, signature: cfg.signature, jsApiList: cfg.jsApiList || []}, function (res) {
				if (keyword(res) === "ok") st.agentConfigOK++; else st.agentConfigFail++;
				callback(cfg, {errMsg: "agentConfig:" + keyword(res)});
			});
		},
		// WeCom's own APIs are called as wx.invoke(name, params, cb); cb gets
		// the client's answer as is (err_msg).
		invoke: function (name, params, cb) { sb.invoke(name, withVerify(params || {}), cb); },
		on: function (name, cb) { sb.on(name, cb); }
	};
	function api(name) {
		return function (o) {
			o = o || {};
			sb.invoke(name, withVerify(o), function (res) { callback(o, web(name, res)); });
		};
	}
	var apis = ["checkJsApi", "getNetworkType", "getLocation", "openLocation", "scanQRCode", "chooseImage",
		"previewImage", "hideMenuItems", "showMenuItems", "hideOptionMenu", "showOptionMenu", "closeWindow",
		"onMenuShareAppMessage", "onMenuShareWechat", "onMenuShareTimeline", "updateAppMessageShareData",
		"updateTimelineShareData"];
	for (var i = 0; i < apis.length; i++) wx[apis[i]] = api(apis[i]);
	w.wx = w.jWeixin = wx;
})(window);

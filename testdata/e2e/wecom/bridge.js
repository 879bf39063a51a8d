// The WeCom (企业微信) client's side of the JS-SDK, for WeCom's @wecom/jssdk
// (npm 2.4.4) and for jweixin with wx.agentConfig, in headless Chromium: a
// WeixinJSBridge as those SDKs talk to it, and a record of what happened
// that the Go tests read from the dumped DOM (the same shape as
// ../jweixin/bridge.js records). Load it first in <head>: the client
// injects its bridge before any page script matters.
//
// What @wecom/jssdk 2.4.4 expects of the bridge (dist/wecom.global.js):
// - it runs its handshake only where the user agent says wxwork/VERSION
//   (WeCom) or MicroMessenger (WeChat); the bridge may appear after the
//   SDK loaded, which then waits for "WeixinJSBridgeReady" on document.
//   Here it appears 150 ms after this script runs.
// - ww.register({corpId, agentId, jsApiList, getConfigSignature,
//   getAgentConfigSignature, …}): in WeCom from 3.0.24 on, with
//   getAgentConfigSignature given, only the agentConfig is made; before
//   3.0.24 the config first, then the agentConfig; in WeChat only the
//   config. Each is made again when location.href (without the fragment)
//   changed since, or after it failed, at the next API call.
// - the config invokes "preVerifyJSAPI" with appId, verifyJsApiList,
//   verifyOpenTagList, verifyAppId, verifySignType "sha1",
//   verifyTimestamp, verifyNonceStr, verifySignature; the agentConfig
//   invokes "agentConfig" with corpid, agentid, timestamp, nonceStr,
//   signature (strings) and jsApiList. Every later invoke carries the
//   verify* fields of the last one that succeeded.
// - callbacks get {err_msg: "<name>:<status>"}; the SDK turns it into
//   errMsg "<api>:<status>" (a "fail_" prefix and underscores dropped,
//   "access denied" and "no permission to execute" made
//   "permission denied") and fails the call unless the status is "ok".
// jweixin with jwxwork (see jwxwork.js here) makes the same two invokes.
//
// How the client decides, as emulated here:
// - both checks are against location.href without the fragment, on every
//   platform (WeCom's client does not keep the landing URL as WeChat's iOS
//   client does), through the sandbox's own verifier, proxied on the
//   site's origin: POST /sandbox/wecom/verify with the config (checked
//   against the corp's jsapi_ticket) or the agentConfig (against the
//   app's agent_config ticket). "preVerifyJSAPI:ok" / "agentConfig:ok", or
//   "<name>:fail_<why>".
// - before WeCom 3.0.24 an agentConfig needs a config verified for the
//   same URL first.
// - an API of the app's identity (selectExternalContact, getContext, …)
//   answers "<name>:permission denied" unless an agentConfig verified for
//   the URL checked now; any other unless a config or an agentConfig did.
// - answers come asynchronously, as the client's do.
(function (w, d) {
	var m = /wxwork\/([\d.]+)/i.exec(navigator.userAgent);
	var version = m ? m[1] : "";
	var start = Date.now();
	var rec = {bridgeAt: 0, version: version, invokes: [], marks: [], events: [], endpoint: []};
	// the URLs the last config and agentConfig verified for
	var corpFor = null, agentFor = null, configs = 0, agentConfigs = 0, handlers = {};
	var agentAPIs = {selectExternalContact: 1, getCurExternalContact: 1, getContext: 1, openUserProfile: 1};
	w.__e2eJweixin = rec;

	function save() {
		var json = JSON.stringify(rec);
		var out = d.getElementById("e2e");
		if (out) out.textContent = json;
		try { if (w.frameElement) w.frameElement.setAttribute("data-e2e", json); } catch (e) {}
	}
	rec.mark = function (kind, value) {
		rec.marks.push({kind: kind, value: value == null ? "" : String(value), href: here(), at: Date.now() - start});
		save();
	};
	w.addEventListener("wechat-jssdk:ready", function (e) {
		rec.events.push({type: "ready", url: e.detail && e.detail.url, at: Date.now() - start});
		save();
	});
	w.addEventListener("wechat-jssdk:error", function (e) {
		rec.events.push({type: "error", errMsg: e.detail && e.detail.errMsg, at: Date.now() - start});
		save();
	});
	d.addEventListener("DOMContentLoaded", save);
	var open = XMLHttpRequest.prototype.open;
	XMLHttpRequest.prototype.open = function (method, url) {
		if (/\/wechat-jssdk\/config\?/.test(url)) rec.endpoint.push(String(url));
		return open.apply(this, arguments);
	};

	function here() { return location.href.split("#")[0]; }
	function older(v, than) {
		var a = v.split("."), b = than.split(".");
		for (var i = 0; i < Math.max(a.length, b.length); i++) {
			var x = parseInt(a[i], 10) || 0, y = parseInt(b[i], 10) || 0;
			if (x !== y) return x < y;
		}
		return false;
	}
	var before3024 = !!version && older(version, "3.0.24");

	// verify asks the sandbox about one part (config or agentConfig) of
	// the page's signatures for url and calls done with its verdict.
	function verify(part, value, url, done) {
		var body = {url: url};
		body[part] = value;
		var x = new XMLHttpRequest();
		x.open("POST", "/sandbox/wecom/verify");
		x.setRequestHeader("Content-Type", "application/json");
		x.onload = function () {
			var r;
			try { r = JSON.parse(x.responseText); } catch (e) { r = {}; }
			done(r[part] || {ok: false, errmsg: r.errmsg || "HTTP " + x.status});
		};
		x.onerror = function () { done({ok: false, errmsg: "sandbox unreachable"}); };
		x.send(JSON.stringify(body));
	}

	var bridge = {
		invoke: function (name, params, callback) {
			params = params || {};
			var url = here();
			var entry = {name: name, url: url, at: Date.now() - start};
			rec.invokes.push(entry);
			function reply(errMsg, extra) {
				entry.err_msg = errMsg;
				save();
				var res = extra || {};
				res.err_msg = errMsg;
				setTimeout(function () { if (typeof callback === "function") callback(res); }, 0);
			}
			// the client says "invalid signature" of a signature that does
			// not hold, whatever the reason the sandbox names (a stale or
			// the wrong ticket); the record keeps the sandbox's words
			function verdict(v) {
				var why = v.errmsg || "unknown";
				if (!v.ok) {
					entry.reason = v.reason || "";
					entry.errmsg = why;
					if (/ticket|signature/.test(v.reason || "")) why = "invalid signature";
				}
				reply(name + ":" + (v.ok ? "ok" : "fail_" + why));
			}
			if (name === "preVerifyJSAPI") {
				var mine = ++configs;
				corpFor = null;
				entry.signature = params.verifySignature;
				verify("config", {appId: params.verifyAppId, timestamp: params.verifyTimestamp,
					nonceStr: params.verifyNonceStr, signature: params.verifySignature}, url, function (v) {
					if (mine === configs && v.ok) corpFor = url; // a later config supersedes this one
					verdict(v);
				});
				return;
			}
			if (name === "agentConfig") {
				var n = ++agentConfigs;
				agentFor = null;
				entry.signature = params.signature;
				if (before3024 && corpFor !== url) {
					reply("agentConfig:fail_config first");
					return;
				}
				verify("agentConfig", {corpid: params.corpid, agentid: params.agentid, timestamp: params.timestamp,
					nonceStr: params.nonceStr, signature: params.signature}, url, function (v) {
					if (n === agentConfigs && v.ok) agentFor = url;
					verdict(v);
				});
				return;
			}
			if (agentFor !== url && (agentAPIs[name] || corpFor !== url)) {
				reply(name + ":permission denied");
				return;
			}
			switch (name) {
			case "getContext":
				reply("getContext:ok", {entry: "normal", shareTicket: ""});
				return;
			case "selectExternalContact":
				reply("selectExternalContact:ok", {userIds: ["wmE2E"]});
				return;
			case "checkJsApi":
				var result = {}, list = params.jsApiList || [];
				for (var i = 0; i < list.length; i++) result[list[i]] = true;
				reply("checkJsApi:ok", {checkResult: result});
				return;
			}
			reply(name + ":ok");
		},
		on: function (event, handler) {
			handlers[event] = handler;
			rec.invokes.push({name: "on:" + event, url: here(), at: Date.now() - start});
			save();
		}
	};

	setTimeout(function () {
		w.WeixinJSBridge = bridge;
		rec.bridgeAt = Date.now() - start;
		var e = d.createEvent("Events");
		e.initEvent("WeixinJSBridgeReady", true, true);
		d.dispatchEvent(e);
		save();
	}, 150);
})(window, document);

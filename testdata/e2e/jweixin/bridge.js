// The WeChat client's side of the JS-SDK, for Tencent's jweixin (npm
// weixin-js-sdk 1.6.5) in headless Chromium: a WeixinJSBridge as jweixin
// talks to it, and a record of what happened that the Go tests read from
// the dumped DOM. Load it first in <head>, as the client injects its bridge
// before any page script matters.
//
// What jweixin expects of the bridge (index.js of weixin-js-sdk 1.6.5):
// - it exists only in WeChat (jweixin checks "micromessenger" in the user
//   agent), and may appear after the page's scripts ran: jweixin then waits
//   for the "WeixinJSBridgeReady" event on document. Here it appears 150 ms
//   after this script runs.
// - WeixinJSBridge.invoke(name, params, callback): wx.config invokes
//   "preVerifyJSAPI" with verifyJsApiList / verifyOpenTagList, and every
//   invoke carries verifyAppId, verifySignType "sha1", verifyTimestamp,
//   verifyNonceStr, verifySignature from the last wx.config. wx.chooseWXPay
//   invokes "getBrandWCPayRequest" with timeStamp, nonceStr, package,
//   signType, paySign. The callback gets {err_msg: "<name>:<status>"};
//   jweixin rewrites it to errMsg "<api>:<status>" (status "ok",
//   "fail_<reason>" -> "<reason>", "cancel", "permission denied", ...)
//   and calls success / fail / cancel, then complete.
// - WeixinJSBridge.on(event, handler): the old onMenuShare* APIs.
//
// How the client decides, as emulated here:
// - preVerifyJSAPI checks the signature against location.href without the
//   fragment (Android and others) or the URL the page was first loaded with
//   (iOS), with the sandbox's own verifier (/sandbox/verify, proxied on the
//   site's origin): "preVerifyJSAPI:ok" or "preVerifyJSAPI:fail_<why>",
//   which jweixin turns into errMsg "config:invalid signature".
// - Any other invoke answers "<name>:permission denied" unless the last
//   preVerifyJSAPI verified, for the URL checked now (on iOS that is always
//   the landing URL, so: verified at all).
// - getBrandWCPayRequest then checks paySign with the sandbox's verifier
//   (/sandbox/pay/verify): "get_brand_wcpay_request:ok" or ":fail_<why>".
// - Answers come asynchronously, as the client's do.
(function (w, d) {
	var ios = /iPhone|iPad|iPod/i.test(navigator.userAgent);
	var landing = location.href.split("#")[0];
	var start = Date.now();
	// rec is what the tests read: the bridge's invokes, what the page's own
	// callbacks saw (pages call mark), the boot script's events and its
	// calls to the config endpoint.
	var rec = {bridgeAt: 0, invokes: [], marks: [], events: [], endpoint: []};
	var verifiedFor = null, preVerifies = 0, handlers = {};
	w.__e2eJweixin = rec;

	function save() {
		var json = JSON.stringify(rec);
		var out = d.getElementById("e2e");
		if (out) out.textContent = json;
		// a page in an iframe reports on its frame element, which the
		// parent's dumped DOM shows
		try { if (w.frameElement) w.frameElement.setAttribute("data-e2e", json); } catch (e) {}
	}
	rec.mark = function (kind, value) {
		rec.marks.push({kind: kind, value: value == null ? "" : String(value), href: checkedURL(), at: Date.now() - start});
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
	// the boot script's calls to the config endpoint
	var open = XMLHttpRequest.prototype.open;
	XMLHttpRequest.prototype.open = function (method, url) {
		if (/\/wechat-jssdk\/config\?/.test(url)) rec.endpoint.push(String(url));
		return open.apply(this, arguments);
	};

	function checkedURL() { return ios ? landing : location.href.split("#")[0]; }

	// post sends a JSON body to the sandbox through the site's origin and
	// calls done with its answer.
	function post(path, body, done) {
		var x = new XMLHttpRequest();
		x.open("POST", path);
		x.setRequestHeader("Content-Type", "application/json");
		x.onload = function () {
			var r;
			try { r = JSON.parse(x.responseText); } catch (e) { r = {ok: false, errmsg: "HTTP " + x.status}; }
			done(r);
		};
		x.onerror = function () { done({ok: false, errmsg: "sandbox unreachable"}); };
		x.send(JSON.stringify(body));
	}

	function fail(why) { return "fail_" + String(why || "unknown").replace(/ /g, "_"); }

	var bridge = {
		invoke: function (name, params, callback) {
			params = params || {};
			var url = checkedURL();
			var entry = {name: name, url: url, at: Date.now() - start};
			rec.invokes.push(entry);
			function reply(errMsg, extra) {
				entry.err_msg = errMsg;
				save();
				var res = extra || {};
				res.err_msg = errMsg;
				setTimeout(function () { if (typeof callback === "function") callback(res); }, 0);
			}
			if (name === "preVerifyJSAPI") {
				var mine = ++preVerifies;
				verifiedFor = null;
				entry.signature = params.verifySignature;
				post("/sandbox/verify", {appId: params.verifyAppId, timestamp: params.verifyTimestamp,
					nonceStr: params.verifyNonceStr, signature: params.verifySignature, url: url}, function (r) {
					// a later wx.config supersedes this one
					if (mine === preVerifies && r.ok) verifiedFor = url;
					reply(r.ok ? "preVerifyJSAPI:ok" : "preVerifyJSAPI:" + fail(r.errmsg));
				});
				return;
			}
			if (verifiedFor !== url) {
				reply(name + ":permission denied");
				return;
			}
			switch (name) {
			case "getBrandWCPayRequest":
				post("/sandbox/pay/verify", {appId: params.appId, timeStamp: params.timeStamp, nonceStr: params.nonceStr,
					"package": params["package"], signType: params.signType, paySign: params.paySign}, function (r) {
					reply(r.ok ? "get_brand_wcpay_request:ok" : "get_brand_wcpay_request:" + fail(r.errmsg));
				});
				return;
			case "getNetworkType":
				reply("network_type:wifi");
				return;
			case "checkJsApi":
				// Android's client answers checkResult as a JSON string,
				// which jweixin parses; iOS's as an object
				var result = {};
				var list = params.jsApiList || [];
				for (var i = 0; i < list.length; i++) result[list[i]] = true;
				reply("checkJsApi:ok", {checkResult: ios ? result : JSON.stringify(result)});
				return;
			}
			reply(name + ":ok");
		},
		on: function (event, handler) {
			handlers[event] = handler;
			rec.invokes.push({name: "on:" + event, url: checkedURL(), at: Date.now() - start});
			save();
		}
	};
	// trigger runs a handler registered with on, as the client does when
	// the user picks a menu item
	rec.trigger = function (event, res) {
		if (handlers[event]) handlers[event](res || {});
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

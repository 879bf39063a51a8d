// Records what the JS-SDK does on this page into <pre id="e2e"> as JSON,
// where the Chromium tests read it from the dumped DOM.
(function (w, d) {
	var rec = {ready: [], errors: [], apis: [], done: false};
	w.__e2e = rec;
	function save() {
		var out = d.getElementById("e2e");
		if (out) out.textContent = JSON.stringify(rec);
	}
	w.addEventListener("wechat-jssdk:ready", function (e) {
		rec.ready.push({url: e.detail && e.detail.url, href: location.href.split("#")[0]});
		save();
	});
	w.addEventListener("wechat-jssdk:error", function (e) {
		rec.errors.push(e.detail && e.detail.errMsg);
		save();
	});
	// callAPI checks the current signature the way a page would notice a bad
	// one: a JS-SDK call fails.
	rec.callAPI = function (done) {
		w.wx.checkJsApi({jsApiList: ["chooseWXPay"], complete: function (r) {
			rec.apis.push({href: location.href.split("#")[0], errMsg: r.errMsg});
			save();
			if (done) done();
		}});
	};
	rec.finish = function () {
		rec.done = true;
		rec.sdkScripts = 0;
		var s = d.getElementsByTagName("script");
		for (var i = 0; i < s.length; i++) if (/jweixin/.test(s[i].src)) rec.sdkScripts++;
		rec.sandbox = w.__wechatSandbox || null;
		save();
	};
	d.addEventListener("DOMContentLoaded", save);
})(window, document);

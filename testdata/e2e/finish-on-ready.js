// For pages whose CSP forbids inline scripts: what pay.html does inline.
window.addEventListener("wechat-jssdk:ready", function () { window.__e2e.callAPI(window.__e2e.finish); });
window.addEventListener("wechat-jssdk:error", function () { window.__e2e.finish(); });

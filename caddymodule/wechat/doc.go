// Package wechat is a small client for the three WeChat endpoints the JS-SDK
// needs: the classic access token (/cgi-bin/token), the stable access token
// (/cgi-bin/stable_token) and the jsapi_ticket (/cgi-bin/ticket/getticket);
// for web OAuth's code exchange; and for WeCom (企业微信, qyapi.weixin.qq.com):
// an app's token (gettoken), the corp jsapi_ticket that signs wx.config, the
// app (agent_config) jsapi_ticket that signs wx.agentConfig, and the sign-in
// code exchange (getuserinfo). WeComApp binds one WeCom app's corp ID and
// secret to a Client, as App does for an Official Account.
//
// It does no caching and no retrying: that is the credential store's job.
// What it does own is turning every way a call can go wrong into an error a
// caller can act on, through Classify, and keeping secrets out of those
// errors. WeChat puts the app secret and the access token in URL queries, and
// Go's *url.Error prints the whole URL, so transport errors are rebuilt
// around the endpoint path alone; error messages WeChat echoes back are
// scrubbed of the secret and token too.
package wechat

// Package pay is the wechat_pay handler: it signs WeChat Pay JSAPI
// (chooseWXPay / WeixinJSBridge getBrandWCPayRequest) parameters in the
// JSON response of the backend's order-creation endpoint, so that neither
// the backend's order endpoint nor the page has to compute paySign.
//
// The backend still places the order with WeChat Pay and answers the
// browser with JSON carrying the prepay id; placing the order is itself
// signed with the merchant's credentials (API v3: the same
// apiclient_key.pem; API v2: the same API key), so this handler does not
// take the key away from whatever creates orders. What it guarantees is
// narrower: the key it is given stays in Caddy's memory and never reaches
// logs, errors, metrics or responses.
//
// On a 2xx JSON object response with the prepay field at the top level, the
// handler adds one member holding {appId, timeStamp, nonceStr, package,
// signType, paySign}, splicing it into the original bytes: every other
// byte, 64-bit integers and field order included, reaches the browser as
// the backend wrote it. Every other response passes through byte for byte.
//
// Only a prepay id is signed: 1 to 64 of A-Z a-z 0-9 _ - after an optional
// "prepay_id=". The package is read as a query string, so an id such as
// "wx1&signType=MD5&key=x" would sign a package that says more than one
// prepay id; such a response passes through unsigned, logged once.
package pay

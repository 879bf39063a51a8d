package jssdk

import "net/http"

// Test hooks: views of the handler's internals that only tests need.

// cspNonce is the nonce adapt would give the boot script for hdr, without
// changing hdr.
func cspNonce(hdr http.Header) string {
	return nonceOf(parseCSP(hdr["Content-Security-Policy"]))
}

// allowInCSP is adapt's rewrite with a nonce chosen by the test.
func (a *cspAllowance) allowInCSP(hdr http.Header, nonce string) {
	a.rewrite(hdr, parseCSP(hdr["Content-Security-Policy"]), nonce)
}

// templateFor is the block template Provision builds for h (defaults
// applied by the caller, as Provision does).
func templateFor(h *Handler) (blockTemplate, error) {
	return newBlockTemplate(h.blockOptions())
}

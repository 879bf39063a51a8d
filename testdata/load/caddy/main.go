// Command caddy is Caddy with the standard modules and this plugin, built by
// the load harness (go build ./testdata/load/caddy) from this checkout, the
// same binary xcaddy would make, without xcaddy's detour through a
// temporary module.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-wechat/jssdk"
)

func main() {
	caddycmd.Main()
}

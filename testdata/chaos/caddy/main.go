// Command caddy is the Caddy the chaos harness (testdata/chaos) runs as
// separate processes: the standard modules and this plugin, as
//
//	xcaddy build --with github.com/caddy-wechat/jssdk
//
// would build it.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-wechat/jssdk"
)

func main() {
	caddycmd.Main()
}

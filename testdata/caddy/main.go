// Command caddy is Caddy with this plugin, as the tests and harnesses that
// run it as separate processes build it (the two-process cluster tests,
// the load and chaos harnesses): the standard modules, the Redis storage
// module and this plugin, as xcaddy would build it with
//
//	--with github.com/pberkel/caddy-storage-redis --with github.com/caddy-wechat/jssdk
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/pberkel/caddy-storage-redis"

	_ "github.com/caddy-wechat/jssdk"
)

func main() {
	caddycmd.Main()
}

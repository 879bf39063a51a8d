// Command cluster is the Caddy the multi-instance tests run as separate
// processes: the standard modules, the Redis storage module and this
// plugin, as xcaddy would build it with
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

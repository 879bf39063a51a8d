package integration_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
)

// TestMain gives the in-process Caddy a storage of its own for this run.
// wechat_jssdk shares credentials through Caddy's storage, the user's
// data directory by default: tests must neither read what an earlier run
// left there (tickets an earlier, forgotten sandbox issued) nor leave
// anything behind.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jssdk-test-storage-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	caddy.DefaultStorage = &certmagic.FileStorage{Path: dir}
	code := m.Run()
	_ = os.RemoveAll(dir)
	removeClusterBinary()
	os.Exit(code)
}

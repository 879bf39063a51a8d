package integration_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-wechat/jssdk"
)

var update = flag.Bool("update", false, "rewrite the expected JSON of the .caddyfiletest files from the adapter's output")

// separator splits a .caddyfiletest file into the Caddyfile and what it must
// adapt to, as in Caddy's own caddytest/integration/caddyfile_adapt.
const separator = "----------"

// TestCaddyfileAdapt adapts every testdata/caddyfile_adapt/*.caddyfiletest
// file. When the part after the dashes is JSON, the adapted config must equal
// it; otherwise adapting must fail with an error containing that text.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(repoPath("testdata/caddyfile_adapt/*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no .caddyfiletest files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, expected, ok := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), separator)
			if !ok {
				t.Fatalf("no %s line", separator)
			}
			caddyfile = strings.TrimSpace(caddyfile) + "\n"
			expected = strings.TrimSpace(expected)

			if *update && strings.HasPrefix(expected, "{") {
				out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
				if err != nil {
					t.Fatalf("adapting: %v", err)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, out, "", "\t"); err != nil {
					t.Fatal(err)
				}
				expected = pretty.String()
				if err := os.WriteFile(file, []byte(caddyfile+separator+"\n"+expected+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			if strings.HasPrefix(expected, "{") {
				if !caddytest.CompareAdapt(t, file, caddyfile, "caddyfile", expected) {
					t.Error("adapted config differs from the expected JSON (diff on stdout)")
				}
				return
			}
			_, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
			if err == nil {
				t.Fatalf("adapting succeeded, want an error containing %q", expected)
			}
			if !strings.Contains(err.Error(), expected) {
				t.Errorf("error %q does not contain %q", err, expected)
			}
		})
	}
}

package integration_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestDemoCaddyfile runs Caddyfile.example as the README's demo command
// does (from the repository root, where its relative paths point; only the
// global options are swapped for the test harness's) and checks that its
// page carries a signature the sandbox accepts.
func TestDemoCaddyfile(t *testing.T) {
	t.Chdir(repoRoot)
	raw, err := os.ReadFile("Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	demo := string(raw)
	const global = "{\n\tauto_https off\n}\n"
	if !strings.Contains(demo, global) {
		t.Fatalf("Caddyfile.example's global options changed; update this test:\n%s", demo)
	}
	demo = strings.Replace(demo, global, globalOptions(""), 1)
	startCaddy(t, demo)

	for _, target := range []string{"/", "/pay/order.html?order=42&from=demo"} {
		resp, body := get(t, http.MethodGet, "http://localhost:8080"+target)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", target, resp.StatusCode)
		}
		c := injectedConfig(t, body)
		if ok, msg := verifyAt(t, "http://localhost:8081", c, "http://localhost:8080"+target); !ok {
			t.Errorf("%s: the sandbox rejects the demo's signature: %s", target, msg)
		}
	}
}

// TestXcaddyManifestMatchesGoMod keeps xcaddy.json's Caddy version the one
// this module is built and tested with.
func TestXcaddyManifestMatchesGoMod(t *testing.T) {
	raw, err := os.ReadFile(repoPath("xcaddy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Caddy        string `json:"caddy"`
		Dependencies []struct {
			Module  string `json:"module"`
			Version string `json:"version"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("xcaddy.json: %v", err)
	}
	versions := goModRequires(t)
	if got := versions["github.com/caddyserver/caddy/v2"]; got != manifest.Caddy {
		t.Errorf("xcaddy.json names Caddy %s, go.mod builds with %s", manifest.Caddy, got)
	}
	var self bool
	for _, d := range manifest.Dependencies {
		if d.Module == "github.com/caddy-wechat/jssdk" {
			self = true
		} else if v, ok := versions[d.Module]; !ok || v != d.Version {
			t.Errorf("xcaddy.json names %s %s, go.mod has %q", d.Module, d.Version, v)
		}
	}
	if !self {
		t.Error("xcaddy.json does not name this module")
	}
}

// goModRequires reads the module versions go.mod requires. (A test binary's
// debug.ReadBuildInfo carries no dependency list.)
func goModRequires(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(repoPath("go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(f) >= 2 && strings.Contains(f[0], ".") && strings.HasPrefix(f[1], "v") {
			versions[f[0]] = f[1]
		}
	}
	if versions["github.com/caddyserver/caddy/v2"] == "" {
		t.Fatal("go.mod requires no Caddy")
	}
	return versions
}

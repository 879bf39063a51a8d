package integration_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	// What testdata/caddy builds in. Imported here too so that go.mod
	// keeps requiring it: go mod tidy does not look into testdata.
	_ "github.com/pberkel/caddy-storage-redis"
)

// clusterStorages are the storages the multi-instance tests run on: the
// global `storage` option each instance gets.
var clusterStorages = []struct {
	name  string
	setup func(t *testing.T) string
}{
	{"file_system", func(t *testing.T) string {
		return "storage file_system " + t.TempDir()
	}},
	{"redis", func(t *testing.T) string {
		return "storage redis {\n\t\taddress " + startRedis(t) + "\n\t}"
	}},
}

// TestClusterSharesOneCredential: two Caddy processes sharing a storage,
// each hit by 200 concurrent requests on a cold cache, make one token call
// and one ticket call between them, and every page they serve carries a
// signature the sandbox accepts. Restarting both within the credential's
// validity costs no call at all.
func TestClusterSharesOneCredential(t *testing.T) {
	for _, st := range clusterStorages {
		t.Run(st.name, func(t *testing.T) {
			storage := st.setup(t)
			startCaddy(t, globalOptions("")+sandboxSite)
			bin := clusterBinary(t)
			instances := []*instance{newInstance(t, "a", bin, storage), newInstance(t, "b", bin, storage)}
			for _, in := range instances {
				in.start(t)
			}

			before := sandboxStats(t)
			pages := hammer(t, instances, 200)
			wantCalls(t, before, sandboxStats(t), map[string]int{"stable_token": 1, "getticket": 1, "token": 0})
			verifyPages(t, pages)

			for _, in := range instances {
				in.stop(t)
			}
			for _, in := range instances {
				in.start(t)
			}
			before = sandboxStats(t)
			pages = hammer(t, instances, 5)
			wantCalls(t, before, sandboxStats(t), map[string]int{"stable_token": 0, "getticket": 0, "token": 0})
			verifyPages(t, pages)
		})
	}
}

// TestClusterLockHolderKilled: the instance refreshing (holding the lock,
// its token call stalled at the sandbox) is killed; the other one still
// gets a credential within a bounded time, once the storage expires the
// dead holder's lock.
func TestClusterLockHolderKilled(t *testing.T) {
	for _, st := range clusterStorages {
		t.Run(st.name, func(t *testing.T) {
			storage := st.setup(t)
			startCaddy(t, globalOptions("")+sandboxSite)
			bin := clusterBinary(t)
			a, b := newInstance(t, "a", bin, storage), newInstance(t, "b", bin, storage)
			a.start(t)
			b.start(t)

			before := sandboxStats(t)
			postJSON(t, sandURL+"/sandbox/fault", `{"endpoint":"stable_token","stall":"2m"}`)
			go func() {
				// a's page waits for its timeout and is served without a
				// config, or fails when a is killed; either way, unread
				resp, err := http.Get(a.siteURL + "/pay/order.html")
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			waitFor(t, 30*time.Second, "a's stalled token call", func() bool {
				return sandboxStats(t)["stable_token"] == before["stable_token"]+1
			})
			a.kill()

			killed := time.Now()
			var page clusterPage
			waitFor(t, 45*time.Second, "b to inject a config", func() bool {
				page = fetchPage(t, b, "/pay/order.html?after=kill")
				return strings.Contains(page.body, "wechat-jssdk-config")
			})
			t.Logf("%s: b got the credential %v after a was killed", st.name, time.Since(killed).Round(100*time.Millisecond))
			verifyPages(t, []clusterPage{page})
			// a's stalled call, then b's: one token and one ticket for b
			wantCalls(t, before, sandboxStats(t), map[string]int{"stable_token": 2, "getticket": 1, "token": 0})
		})
	}
}

// clusterPage is a page an instance served, with the URL it was asked at.
type clusterPage struct {
	url  string
	body string
}

// hammer sends perInstance concurrent requests to each instance at once,
// each for its own URL, and returns the pages.
func hammer(t *testing.T, instances []*instance, perInstance int) []clusterPage {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: perInstance}}
	defer client.CloseIdleConnections()
	pages := make([]clusterPage, len(instances)*perInstance)
	errs := make(chan error, len(pages))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range pages {
		in := instances[i%len(instances)]
		pageURL := fmt.Sprintf("%s/pay/order.html?order=%d", in.siteURL, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Get(pageURL)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("%s: status %d, %v", pageURL, resp.StatusCode, err)
				return
			}
			pages[i] = clusterPage{url: pageURL, body: string(body)}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	failed := false
	for err := range errs {
		t.Error(err)
		failed = true
	}
	if failed {
		t.FailNow()
	}
	return pages
}

// fetchPage gets one page from an instance.
func fetchPage(t *testing.T, in *instance, target string) clusterPage {
	t.Helper()
	_, body := get(t, http.MethodGet, in.siteURL+target)
	return clusterPage{url: in.siteURL + target, body: body}
}

// verifyPages checks that every page carries one config the sandbox
// accepts for the page's URL.
func verifyPages(t *testing.T, pages []clusterPage) {
	t.Helper()
	bad := 0
	for _, p := range pages {
		c := injectedConfig(t, p.body)
		if ok, msg := verify(t, c, p.url); !ok {
			bad++
			if bad <= 3 {
				t.Errorf("%s: the sandbox rejects the signature: %s", p.url, msg)
			}
		}
	}
	if bad > 3 {
		t.Errorf("… %d pages rejected in all, of %d", bad, len(pages))
	}
}

// wantCalls compares the sandbox's call counts with before.
func wantCalls(t *testing.T, before, after map[string]int, want map[string]int) {
	t.Helper()
	for ep, n := range want {
		if d := after[ep] - before[ep]; d != n {
			t.Errorf("%d %s calls, want %d", d, ep, n)
		}
	}
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postJSON posts body to rawURL and fails the test unless it is accepted.
func postJSON(t *testing.T, rawURL, body string) {
	t.Helper()
	resp, err := http.Post(rawURL, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s %s: %d %s", rawURL, body, resp.StatusCode, b)
	}
}

package paynotify

import (
	"context"
	"io/fs"
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
)

// BenchmarkNotify is one notification through the handler: read the
// 1 KB body, verify the signature (RSA-2048 public key), parse, decrypt
// (AES-256-GCM), forward the plaintext. The replay check runs against a
// storage that keeps nothing, to leave out the disk.
func BenchmarkNotify(b *testing.B) {
	h, _ := newHandler(b, nullStorage{}, nil)
	bk := &backend{}
	n := newNotification(paykeystest.PublicModeSigner(b), paykeystest.APIv3Key, time.Now())
	b.ReportAllocs()
	b.SetBytes(int64(len(n.body)))
	for b.Loop() {
		if w := send(b, h, bk, n); w.Code != http.StatusNoContent {
			b.Fatal(w.Code, w.Body)
		}
		bk.got = bk.got[:0]
	}
}

// BenchmarkNotifyFileStorage adds the replay marker on the file system:
// lock, read, write, unlock — and, since the backend answers 500 here so
// that the same notification can be sent again, the release (a delete).
func BenchmarkNotifyFileStorage(b *testing.B) {
	h, _ := newHandler(b, &certmagic.FileStorage{Path: b.TempDir()}, nil)
	bk := &backend{status: http.StatusInternalServerError}
	n := newNotification(paykeystest.PublicModeSigner(b), paykeystest.APIv3Key, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if w := send(b, h, bk, n); w.Code != http.StatusInternalServerError {
			b.Fatal(w.Code, w.Body)
		}
		bk.got = bk.got[:0]
	}
}

// nullStorage keeps nothing: every marker is new.
type nullStorage struct{}

func (nullStorage) Lock(context.Context, string) error                   { return nil }
func (nullStorage) Unlock(context.Context, string) error                 { return nil }
func (nullStorage) Store(context.Context, string, []byte) error          { return nil }
func (nullStorage) Load(context.Context, string) ([]byte, error)         { return nil, fs.ErrNotExist }
func (nullStorage) Delete(context.Context, string) error                 { return nil }
func (nullStorage) Exists(context.Context, string) bool                  { return false }
func (nullStorage) List(context.Context, string, bool) ([]string, error) { return nil, fs.ErrNotExist }
func (nullStorage) Stat(context.Context, string) (certmagic.KeyInfo, error) {
	return certmagic.KeyInfo{}, fs.ErrNotExist
}

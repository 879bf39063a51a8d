package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"

	"github.com/caddyserver/certmagic"
)

// keyStorageKey is where an app's cookie key lives in Caddy's storage, and
// the name of the lock taken to create it.
func keyStorageKey(appID string) string { return "wechat_oauth/" + appID + "/cookie_key" }

// loadOrCreateKey returns the app's cookie key, creating it when the
// storage has none. Creation happens under the storage lock, and the key is
// read again once the lock is held: of several instances starting together,
// one creates it and the others read that one, so every instance seals
// with the same key. The key is stored as base64 text, which an operator
// can also write there (32 random bytes) before the first start. Errors
// name the storage key, never the key.
func loadOrCreateKey(ctx context.Context, st certmagic.Storage, appID string) (key []byte, created bool, err error) {
	name := keyStorageKey(appID)
	key, err = readKey(ctx, st, name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	if err := st.Lock(ctx, name); err != nil {
		return nil, false, fmt.Errorf("wechat_oauth: locking %s in storage: %v", name, err)
	}
	defer func() {
		// a fresh context: the lock must go even when ctx has ended
		if uerr := st.Unlock(context.WithoutCancel(ctx), name); uerr != nil && err == nil {
			err = fmt.Errorf("wechat_oauth: unlocking %s in storage: %v", name, uerr)
		}
	}()
	key, err = readKey(ctx, st, name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key = make([]byte, keySize)
	_, _ = rand.Read(key) // never fails: crypto/rand crashes the program instead
	text := make([]byte, base64.StdEncoding.EncodedLen(keySize), base64.StdEncoding.EncodedLen(keySize)+1)
	base64.StdEncoding.Encode(text, key)
	if err := st.Store(ctx, name, append(text, '\n')); err != nil {
		clear(key)
		return nil, false, fmt.Errorf("wechat_oauth: storing a new cookie key at %s: %v", name, err)
	}
	return key, true, nil
}

// readKey loads and decodes the key at name. A missing key is an error
// that wraps fs.ErrNotExist; a malformed one is refused, not replaced: it
// may be an operator's, and replacing it would log every user out.
func readKey(ctx context.Context, st certmagic.Storage, name string) ([]byte, error) {
	text, err := st.Load(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("wechat_oauth: reading the cookie key %s from storage: %v", name, err)
	}
	defer clear(text)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(key, bytes.TrimSpace(text))
	if err != nil || n != keySize {
		clear(key)
		return nil, fmt.Errorf("wechat_oauth: the cookie key %s in storage is not 32 bytes in base64; delete it to have a new one made (everyone is signed out)", name)
	}
	return key[:keySize], nil
}

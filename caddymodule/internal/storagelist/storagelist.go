// Package storagelist keeps the storages of the configs that use one
// long-lived pooled entry (wechat_jssdk's credential stores, the pay
// handlers' platform keys). The entry outlives a config (a reload keeps
// it), while each config brings its own storage instance, which may be
// closed when that config goes: so each config attaches its storage at
// provision and detaches it at cleanup, and the newest still attached
// serves. Both pools need exactly this, so it lives here once. It has no
// Caddy dependency beyond certmagic's Storage interface.
package storagelist

import (
	"sync"

	"github.com/caddyserver/certmagic"
)

// List is the storages attached, oldest first. Its zero value is empty and
// ready to use; it is safe for concurrent use.
type List struct {
	mu   sync.Mutex
	list []*attachment
}

// attachment is one config's storage, compared by identity: two configs
// may attach the same storage value, and each detaches its own.
type attachment struct{ st certmagic.Storage }

// Attach makes st the storage in use until it is detached or another is
// attached. Calling detach more than once is harmless.
func (l *List) Attach(st certmagic.Storage) (detach func()) {
	a := &attachment{st: st}
	l.mu.Lock()
	l.list = append(l.list, a)
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			for i, x := range l.list {
				if x == a {
					l.list = append(l.list[:i], l.list[i+1:]...)
					return
				}
			}
		})
	}
}

// Current is the newest storage still attached, nil when none is.
func (l *List) Current() certmagic.Storage {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.list) == 0 {
		return nil
	}
	return l.list[len(l.list)-1].st
}

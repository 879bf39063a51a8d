package storagelist

import (
	"testing"

	"github.com/caddyserver/certmagic"
)

func TestList(t *testing.T) {
	var l List
	if l.Current() != nil {
		t.Fatal("empty list serves a storage")
	}
	a, b := &certmagic.FileStorage{Path: "a"}, &certmagic.FileStorage{Path: "b"}
	detachA := l.Attach(a)
	detachB := l.Attach(b)
	detachA2 := l.Attach(a) // the same storage twice: each detaches its own
	if l.Current() != a {
		t.Error("the newest does not serve")
	}
	detachA2()
	detachA2()
	if l.Current() != b {
		t.Error("detach removed the wrong attachment")
	}
	detachB()
	if l.Current() != a {
		t.Error("the older one does not serve after the newest goes")
	}
	detachA()
	if l.Current() != nil {
		t.Error("a detached storage serves")
	}
}

package bodyrewrite

import (
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestPreferIdentityRestores(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   http.Header
	}{
		{"absent", http.Header{}},
		{"gzip", http.Header{"Accept-Encoding": {"gzip, br"}}},
		{"two lines", http.Header{"Accept-Encoding": {"gzip", "zstd"}}},
		{"empty value", http.Header{"Accept-Encoding": {""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.in.Clone()
			a := PreferIdentity(h)
			if got := h["Accept-Encoding"]; !reflect.DeepEqual(got, []string{"identity"}) {
				t.Fatalf("next handler sees %q", got)
			}
			// a later handler appending must not write into the shared slice
			h["Accept-Encoding"] = append(h["Accept-Encoding"], "gzip")
			if identityOnly[0] != "identity" || len(identityOnly) != 1 {
				t.Fatal("shared identity slice changed")
			}
			a.Restore(h)
			if !reflect.DeepEqual(h, tc.in) {
				t.Errorf("restored %v, want %v", h, tc.in)
			}
		})
	}
}

func TestWeakenETag(t *testing.T) {
	for in, want := range map[string]string{`"abc"`: `W/"abc"`, `W/"abc"`: `W/"abc"`, "": ""} {
		h := http.Header{}
		if in != "" {
			h.Set("Etag", in)
		}
		WeakenETag(h)
		if got := h.Get("Etag"); got != want {
			t.Errorf("WeakenETag(%q) = %q, want %q", in, got, want)
		}
	}
}

// readFromWriter records whether its ReadFrom was used.
type readFromWriter struct {
	bytes.Buffer
	readFrom bool
}

func (w *readFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.readFrom = true
	return w.Buffer.ReadFrom(r)
}

func TestWriterOnlyHidesReadFrom(t *testing.T) {
	var w readFromWriter
	if _, err := io.Copy(WriterOnly{&w}, strings.NewReader("body")); err != nil {
		t.Fatal(err)
	}
	if w.readFrom || w.String() != "body" {
		t.Errorf("readFrom=%v body=%q", w.readFrom, w.String())
	}
}

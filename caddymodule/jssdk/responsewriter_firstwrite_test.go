package jssdk

import (
	"bytes"
	"strings"
	"testing"
)

// writeLog records each Write as one entry.
type writeLog struct{ writes []string }

func (l *writeLog) Write(p []byte) (int, error) {
	l.writes = append(l.writes, string(p))
	return len(p), nil
}

func TestFirstWriteGathersTheStart(t *testing.T) {
	small, block := "<html><head>", strings.Repeat("b", 600)
	big := strings.Repeat("x", minFirstWrite)
	for _, tc := range []struct {
		name   string
		writes []string
		flush  int // flush after this many writes; -1 never
		want   []string
	}{
		{"small then block", []string{small, block, "rest"}, -1, []string{small + block, "rest"}},
		{"large first write passes", []string{big, "rest"}, -1, []string{big, "rest"}},
		{"all small", []string{"a", "b", "c"}, -1, []string{"abc"}},
		{"flush releases", []string{"a", "b", "c"}, 1, []string{"a", "b", "c"}},
		{"nothing", nil, -1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out writeLog
			f := firstWrite{w: &out}
			for i, w := range tc.writes {
				if n, err := f.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				if i+1 == tc.flush {
					if err := f.flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := f.flush(); err != nil {
				t.Fatal(err)
			}
			if strings.Join(out.writes, "|") != strings.Join(tc.want, "|") {
				t.Errorf("writes %q, want %q", out.writes, tc.want)
			}
			var all bytes.Buffer
			for _, w := range tc.writes {
				all.WriteString(w)
			}
			if strings.Join(out.writes, "") != all.String() {
				t.Error("bytes lost or changed")
			}
		})
	}
}

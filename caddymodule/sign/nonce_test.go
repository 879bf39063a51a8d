package sign

import (
	"strings"
	"testing"
)

// TestNonceSymbolIsUniform checks the mapping from random bytes exactly: each
// of the 62 symbols must come from the same number of byte values, and the
// rest must be rejected. This is the no-modulo-bias property, without chance.
func TestNonceSymbolIsUniform(t *testing.T) {
	counts := map[byte]int{}
	rejected := 0
	for r := 0; r < 256; r++ {
		c, ok := nonceSymbol(byte(r))
		if !ok {
			rejected++
			continue
		}
		counts[c]++
	}
	if len(counts) != 62 {
		t.Fatalf("nonceSymbol produces %d distinct symbols, want 62", len(counts))
	}
	for c, n := range counts {
		if !strings.ContainsRune(nonceAlphabet, rune(c)) {
			t.Errorf("nonceSymbol produces %q, outside the alphabet", c)
		}
		if n != 4 {
			t.Errorf("symbol %q comes from %d byte values, want 4", c, n)
		}
	}
	if rejected != 8 {
		t.Errorf("%d byte values rejected, want 8", rejected)
	}
}

func TestNonceShapeAndDistinctness(t *testing.T) {
	const draws = 20000
	seen := make(map[string]bool, draws)
	for i := 0; i < draws; i++ {
		n := Nonce()
		if len(n) != NonceSize {
			t.Fatalf("Nonce() = %q, length %d, want %d", n, len(n), NonceSize)
		}
		for j := 0; j < len(n); j++ {
			if !isAlnum(n[j]) {
				t.Fatalf("Nonce() = %q contains %q, want only [A-Za-z0-9]", n, n[j])
			}
		}
		if seen[n] {
			t.Fatalf("Nonce() repeated %q within %d draws", n, i+1)
		}
		seen[n] = true
	}
}

func TestAppendNonce(t *testing.T) {
	got := AppendNonce([]byte("prefix-"))
	if len(got) != len("prefix-")+NonceSize || string(got[:7]) != "prefix-" {
		t.Fatalf("AppendNonce = %q, want prefix- followed by %d characters", got, NonceSize)
	}
}

// TestNonceRoughlyUniform runs a chi-squared test over the symbols of many
// nonces. With 61 degrees of freedom the statistic has mean 61 and standard
// deviation 11; the threshold of 150 is crossed by chance about once in 4*10^8
// runs, while a r%62 mapping scores about 1000 at this sample size.
func TestNonceRoughlyUniform(t *testing.T) {
	const draws = 10000
	var counts [256]int
	buf := make([]byte, 0, NonceSize)
	for i := 0; i < draws; i++ {
		buf = AppendNonce(buf[:0])
		for _, c := range buf {
			counts[c]++
		}
	}
	expected := float64(draws*NonceSize) / float64(len(nonceAlphabet))
	chi2 := 0.0
	for i := 0; i < len(nonceAlphabet); i++ {
		d := float64(counts[nonceAlphabet[i]]) - expected
		chi2 += d * d / expected
	}
	if chi2 > 150 {
		t.Errorf("chi-squared over %d symbols = %.1f, want below 150 (not uniform)", draws*NonceSize, chi2)
	}
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

package credential

import (
	"context"
	"testing"
)

// BenchmarkTicketHit measures the hot path: a usable ticket in the cache,
// no refresh due, on the real clock.
func BenchmarkTicketHit(b *testing.B) {
	s, err := New(Config{Source: &fakeSource{}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Ticket(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Ticket(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Ticket(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

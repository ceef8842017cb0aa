package spool

import "testing"

func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		name   string
		noSync bool
	}{{"Sync", false}, {"NoSync", true}} {
		b.Run(c.name, func(b *testing.B) {
			s := mustOpen(b, b.TempDir(), Options{NoSync: c.noSync})
			defer s.Close()
			rec := make([]byte, 1024)
			b.SetBytes(int64(len(rec)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Append(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

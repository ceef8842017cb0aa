package alert_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"canhgac/internal/alert"
	"canhgac/internal/storage/storagetest"
)

// BenchmarkRaise measures Raise throughput from 16 concurrent callers (a
// fleet of detectors): "new" opens a fresh alert each time (dedup misses),
// "dedup" repeats 100 open alerts (dedup hits). alerts/s is reported.
func BenchmarkRaise(b *testing.B) {
	for _, be := range storagetest.Backends(b) {
		for _, mode := range []string{"new", "dedup"} {
			b.Run(be.Name+"/"+mode, func(b *testing.B) {
				s := be.Open(b)
				svc, err := alert.New(ctx, s, alert.DefaultConfig())
				if err != nil {
					b.Fatal(err)
				}
				var n atomic.Int64
				b.SetParallelism(8) // 8 × GOMAXPROCS callers
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						key := fmt.Sprintf("k%d", i)
						if mode == "dedup" {
							key = fmt.Sprintf("k%d", i%100)
						}
						if _, err := svc.Raise(ctx, alert.Alert{Source: "bench", Kind: "bench.test", Severity: alert.High,
							DedupKey: key, Title: "Benchmark alert " + key}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
			})
		}
	}
}

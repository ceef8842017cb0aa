package version

import "testing"

var benchCases = []struct{ scheme, a, b string }{
	{Deb, "1:3.0.11-1~deb12u2", "3.0.13-1~deb12u1"},
	{RPM, "5.14.0-362.8.1.el9_3", "5.14.0-362.13.1.el9_3"},
	{APK, "3.1.4-r5", "3.1.4_p1-r0"},
	{"windows", "124.0.6367.91", "124.0.6367.201"},
}

var benchSink int

func BenchmarkCompare(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.scheme, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := Compare(c.scheme, c.a, c.b)
				if err != nil {
					b.Fatal(err)
				}
				benchSink += r
			}
		})
	}
}

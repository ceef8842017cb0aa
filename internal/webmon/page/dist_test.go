package page

import (
	"sort"
	"testing"
)

func TestDist(t *testing.T) {
	for _, label := range []string{"defaced", "benign"} {
		type x struct {
			n string
			s float64
			r []Reason
		}
		var xs []x
		for _, p := range sharedPages(t, label) {
			r := Analyze(mustExtract(t, p.raw, ""), nil, Options{})
			xs = append(xs, x{p.name, r.Score, r.Reasons})
		}
		sort.Slice(xs, func(i, j int) bool { return xs[i].s < xs[j].s })
		for i, v := range xs {
			if label == "defaced" && v.s >= 0.5 && v.s < 0.7 || label == "benign" && i >= len(xs)-8 {
				sigs := ""
				for _, r := range v.r {
					sigs += r.Signal + " "
				}
				t.Logf("%s %.2f %s | %.200v", v.n, v.s, sigs, v.r)
			}
		}
	}
}

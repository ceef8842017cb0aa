package page

import (
	"bytes"
	"fmt"
	"math/rand"
	"regexp"
)

var (
	reDigits = regexp.MustCompile(`\d{1,4}`)
	reLI     = regexp.MustCompile(`(?s)<li[ >].*?</li>`)
	reText   = regexp.MustCompile(`>[^<>]+<`) // text between tags (also inline scripts' short runs)
)

// perturb imitates a second fetch of a busy page: dates and counters
// change, list items rotate, a CSRF token and a session id are regenerated,
// and an ad slot shows a different creative.
func perturb(raw []byte, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	// Counters and dates: change digits in text (and attributes alike).
	out := reText.ReplaceAllFunc(raw, func(t []byte) []byte {
		return reDigits.ReplaceAllFunc(t, func(m []byte) []byte {
			if rng.Intn(4) != 0 {
				return m
			}
			b := make([]byte, len(m))
			for i := range b {
				b[i] = byte('0' + rng.Intn(10))
			}
			return b
		})
	})
	// Rotate list items: move the first <li> of the page's first lists to the end of the run.
	locs := reLI.FindAllIndex(out, 200)
	if len(locs) >= 3 {
		k := 1 + rng.Intn(len(locs)-1)
		a, b := locs[0], locs[k]
		first := append([]byte(nil), out[a[0]:a[1]]...)
		other := append([]byte(nil), out[b[0]:b[1]]...)
		var buf bytes.Buffer
		buf.Write(out[:a[0]])
		buf.Write(other)
		buf.Write(out[a[1]:b[0]])
		buf.Write(first)
		buf.Write(out[b[1]:])
		out = buf.Bytes()
	}
	token := fmt.Sprintf("%016x", rng.Uint64())
	extra := fmt.Sprintf(`<form action="/login" method="post"><input type="hidden" name="csrf_token" value="%s"><input type="hidden" name="sid" value="%x"></form><div class="ad-slot"><a href="/ads/click?c=%d&amp;s=%s"><img src="/ads/banner-%d.png" alt=""></a></div><span class="visits">Lượt truy cập: %d</span><span class="clock">Thứ %d, %02d/%02d/2026</span>`,
		token, rng.Uint32(), rng.Intn(1e6), token, rng.Intn(50), rng.Intn(1e7), 2+rng.Intn(6), 1+rng.Intn(28), 1+rng.Intn(12))
	if i := bytes.LastIndex(bytes.ToLower(out), []byte("</body")); i >= 0 {
		return append(append(append([]byte(nil), out[:i]...), extra...), out[i:]...)
	}
	return append(out, extra...)
}

package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("mật khẩu đủ dài")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") || strings.Contains(h, "mật khẩu") {
		t.Fatalf("hash %q", h)
	}
	if !CheckPassword(h, "mật khẩu đủ dài") {
		t.Fatal("the right password is refused")
	}
	for _, wrong := range []string{"", "mat khau du dai", "mật khẩu đủ dài "} {
		if CheckPassword(h, wrong) {
			t.Fatalf("%q accepted", wrong)
		}
	}
	h2, _ := HashPassword("mật khẩu đủ dài")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

// A tampered or foreign hash is refused, never panics, and cannot make the
// server allocate without bound.
func TestCheckPasswordRefusesMalformedHashes(t *testing.T) {
	good, _ := HashPassword("x")
	parts := strings.Split(good, "$")
	for _, h := range []string{
		"", "plain", "$2a$10$bcryptbcryptbcryptbcrypt",
		"$argon2i$v=19$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=18$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=1000,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$",
	} {
		if ok, err := checkPassword(h, "x"); ok || err == nil {
			t.Errorf("%q: ok=%v err=%v", h, ok, err)
		}
	}
}

func TestSecretsAreRandomAndStoredHashed(t *testing.T) {
	s1, h1 := NewSecret("cgk_")
	s2, h2 := NewSecret("cgk_")
	if s1 == s2 || h1 == h2 || !strings.HasPrefix(s1, "cgk_") || len(s1) < 40 {
		t.Fatalf("secrets %q %q", s1, s2)
	}
	if HashSecret(s1) != h1 || strings.Contains(h1, s1[4:]) {
		t.Fatal("stored hash does not match or leaks the secret")
	}
	if p := RandomPassword(); len(p) != 20 || p == RandomPassword() {
		t.Fatalf("random password %q", p)
	}
}

func TestLimiterWindow(t *testing.T) {
	now := time.Date(2027, 2, 6, 23, 0, 0, 0, time.UTC) // Tết eve
	l := NewLimiter(3, 15*time.Minute)
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if blocked, _ := l.Blocked("user:admin"); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("user:admin")
		now = now.Add(time.Minute)
	}
	blocked, wait := l.Blocked("user:admin")
	if !blocked || wait != 12*time.Minute {
		t.Fatalf("after 3 failures: blocked=%v wait=%v", blocked, wait)
	}
	if b, _ := l.Blocked("user:other"); b {
		t.Fatal("one account's failures block another")
	}
	now = now.Add(12 * time.Minute) // the first failure leaves the window
	if b, _ := l.Blocked("user:admin"); b {
		t.Fatal("still blocked after the window passed")
	}
	l.Fail("user:admin")
	l.Reset("user:admin")
	if b, _ := l.Blocked("user:admin"); b {
		t.Fatal("reset did not clear failures")
	}
}

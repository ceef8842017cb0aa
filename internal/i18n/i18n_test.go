package i18n

import "testing"

// Every key exists in every language, and no message is empty.
func TestCatalogsHaveTheSameKeys(t *testing.T) {
	for _, l := range Langs {
		for _, other := range Langs {
			for _, k := range Keys(l) {
				if !Has(other, k) {
					t.Errorf("key %q is in %s but missing from %s", k, l, other)
				}
				if T(l, k) == "" {
					t.Errorf("key %q is empty in %s", k, l)
				}
			}
		}
	}
}

func TestFallbackAndNegotiation(t *testing.T) {
	if T("en", "app.tagline") == T("vi", "app.tagline") {
		t.Errorf("English and Vietnamese taglines are the same")
	}
	if T("fr", "app.tagline") != T("vi", "app.tagline") {
		t.Errorf("unknown language does not fall back to Vietnamese")
	}
	if got := Negotiate("en-US,en;q=0.9"); got != "en" {
		t.Errorf("Negotiate en-US = %q", got)
	}
	if got := Negotiate("fr-FR"); got != "vi" {
		t.Errorf("Negotiate fr-FR = %q", got)
	}
}

package page

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"canhgac/internal/textfold"
)

// VocabHit is one vocabulary term found on the page.
type VocabHit struct {
	Term   string  `json:"term"`
	Kind   string  `json:"kind"`  // gambling, defacer, portal
	Where  string  `json:"where"` // text, title, meta, hidden, anchor, alt, frame
	Count  int     `json:"count"`
	Weight float64 `json:"weight"` // the term's base weight
}

type term struct {
	kind   string
	weight float64
}

// vocabulary maps folded, punctuation-free phrases (1–4 words) to a kind and
// a weight. Legitimate portal words (bóng đá, xổ số, giải trí, thể thao) carry
// almost nothing: government portals publish sports and lottery news.
var vocabulary = map[string]term{}

func addTerms(kind string, w float64, phrases ...string) {
	for _, p := range phrases {
		// Keyed as page text is matched: folded and split into words the
		// same way (Bengali and other Indic terms lose their viramas).
		vocabulary[normalizeWords(fold(p))] = term{kind, w}
	}
}

func init() {
	// Vietnamese gambling (folded: nhà cái → nha cai).
	addTerms("gambling", 0.4, "keo nha cai", "dang ky nhan thuong", "casino truc tuyen", "slot gacor", "situs judi", "situs slot", "judi online", "nha cai uy tin", "ca cuoc bong da", "ca cuoc truc tuyen")
	addTerms("gambling", 0.35, "nha cai", "ca cuoc", "tai xiu", "xoc dia", "soi keo", "ty le keo", "game bai", "cuoc the thao", "nohu", "taixiu", "nhacai", "keonhacai", "sicbo", "quay hu", "no hu", "togel", "gacor", "maxwin", "slot online", "xo so truc tuyen", "danh de", "danh lo")
	addTerms("gambling", 0.4, "sbobet", "fb88", "188bet", "fun88", "kubet", "jun88", "hi88", "new88", "okvip", "shbet", "789bet", "8xbet", "f8bet", "go88", "sunwin", "rikvip", "hitclub", "789club", "bong88", "vn88", "12bet", "1xbet", "w88", "m88", "bet88", "ae888", "jbo", "qh88", "mu88", "debet", "kubet88", "ok365", "bk8", "cmd368")
	addTerms("gambling", 0.3, "danh bai", "baccarat", "link vao", "rtp slot", "deposit pulsa", "casino online", "rong ho", "tang tien", "slot game", "ca do", "nap rut")
	addTerms("gambling", 0.2, "ban ca", "da ga", "casino", "judi", "bet365", "iwin", "lo de", "tien thuong")
	addTerms("gambling", 0.1, "slot", "poker", "roulette", "blackjack", "lo to", "nhan thuong", "nap tien", "rut tien", "pragmatic play", "jackpot", "bandar")
	// Turkish gambling SEO ("deneme bonusu" = trial bonus, "bahis" = betting,
	// "güncel giriş" = current login address of a blocked site).
	addTerms("gambling", 0.4, "deneme bonusu", "bahis siteleri", "canli bahis", "casino siteleri", "slot siteleri", "guncel giris", "kacak bahis", "bonus veren siteler", "yasal bahis", "bahis sitesi", "deneme bonusu veren")
	addTerms("gambling", 0.35, "bahis", "hacklink", "kumar siteleri", "casibom", "jojobet", "holiganbet", "marsbahis", "grandpashabet", "betturkey", "bets10", "imajbet", "mavibet", "matbet", "meritking", "onwin", "sekabet", "tipobet", "pusulabet", "betsat", "bahsegel", "youwin", "superbetin")
	// Other link-farm spam planted alongside the gambling links.
	addTerms("gambling", 0.1, "porno", "escort", "viagra", "cialis")
	addTerms("portal", 0.02, "bong da", "xo so", "giai tri", "the thao", "khuyen mai", "bet", "ket qua")
	// Defacer signatures, several languages; leetspeak is normalised first.
	addTerms("defacer", 1.0, "hacked by", "hvcked by", "pwned by", "pwnd by", "defaced by", "security is a myth", "has been hacked", "hacklendi", "hacklenmistir", "hackeado por", "hackeada por", "we are legion", "تم اختراق", "tarafindan hacklendi", "got hacked", "hacked with love")
	addTerms("defacer", 0.7, "greetz", "dihack", "di hack", "hackeado", "your site has been", "your website has been", "cyber army", "cyber team", "hacker team", "hack team", "cyber force", "cyber security team", "hacktivist", "hacktivists")
	addTerms("defacer", 0.5, "defaced", "pwnd", "expect us", "haxor", "hacked you", "touched by", "اختراق", "hacked")
	addTerms("defacer", 0.3, "pwned", "greets", "your security", "free palestine", "freedom for palestine", "greetings to", "patch your", "fix your", "admin please", "was here", "owned")
	addTerms("defacer", 0.15, "contact me")
	addTerms("defacer", 0.2, "hacker", "hackers", "owned by", "tarafindan", "invadido", "هكر", "telegram", "stop killing", "is here", "kerentanan", "situs anda", "جيش")
	addTerms("defacer", 0.05, "cyber", "anonymous")
	// Ransom notes left on encrypted sites, and Indonesian take-over notes.
	addTerms("defacer", 1.0, "your website is encrypted", "your site is encrypted", "diambil alih oleh", "di ambil alih oleh", "telah diambil alih", "telah di ambil alih")
	// Vietnamese: "bị hack bởi" (hacked by), "đã bị hack" (has been hacked).
	addTerms("defacer", 1.0, "da bi hack", "bi hack boi", "hack boi", "تم التهكير", "sistema invadido", "site hackeado")
	addTerms("defacer", 0.5, "bi hack", "تهكير")
	// Signature phrasing in more languages: "hacked by" (fr, de, it, id, pt,
	// ar, fa, ru), the "security is an illusion" motto, insults and greetings
	// addressed to the admin, and team names built on "cyber …".
	addTerms("defacer", 1.0, "security is an illusion", "seguranca e uma ilusao", "seguridad es una ilusion", "securite est une illusion", "invadido por", "site invadido", "hacke par", "gehackt von", "hackerato da", "di hack oleh", "dihack oleh", "deface oleh", "di deface", "dideface", "rooted by", "تم الاختراق", "اخترق بواسطة", "هک شد", "هک شده", "fuckedby", "fucked by")
	addTerms("defacer", 0.7, "pirate par", "no system is safe", "sorry admin", "defacer", "defacers", "cyber squad", "cyber warriors", "cyber attackers", "cyber ghost", "hacker crew", "hack crew", "взломан", "взломано", "взломал", "হ্যাকড", "হ্যাক করেছে", "sitenizin guvenligi", "turk hack")
	addTerms("defacer", 1.0, "diretas oleh", "di retas oleh", "digodam oleh", "telah diretas", "telah digodam")
	addTerms("defacer", 0.5, "diretas", "digodam", "ele gecirildi", "vulnerado por")
	addTerms("defacer", 0.5, "nothing is safe", "hi admin", "dear admin", "admin plz", "deface", "gehackt", "hackerato", "مخترق", "هکر", "হ্যাক", "your security is low", "security is low", "stamped by")
	addTerms("defacer", 0.3, "were here", "zone h", "zoneh", "blackhat", "black hat", "grey hat", "guvenlik acigi", "keamanan website", "salam dari", "الهكر", "هكرز", "sua seguranca", "tu seguridad", "go to hell")
	addTerms("defacer", 0.5, "ransomware", "encrypted by", "bitcoin address", "ambil alih")
}

// stems match word beginnings (or insides): Turkish and Spanish inflect
// "hacked" (hacklendiniz, hackeado), handles embed "xploit".
var stems = []struct {
	prefix   string
	anywhere bool
}{{"bahis", true}, {"hacklen", false}, {"hackead", false}, {"xploit", true}, {"h4ck", true}}

func init() {
	vocabulary["bahis…"] = term{"gambling", 0.35}
	vocabulary["hacklen…"] = term{"defacer", 1.0}
	vocabulary["hackead…"] = term{"defacer", 0.8}
	vocabulary["xploit…"] = term{"defacer", 0.3}
	vocabulary["h4ck…"] = term{"defacer", 0.4}
}

// maxGram is the longest phrase in words.
const maxGram = 4

// fold lower-cases and strips diacritics; ASCII takes a fast path.
// "Fancy text" (𝐇𝐚𝐜𝐤𝐞𝐝, Ｈａｃｋｅｄ, Ⓗⓐⓒⓚ, ʜᴀᴄᴋᴇᴅ), a defacer's favourite
// lettering, is read as the plain letters it imitates.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			if fancyLetters(s[i:]) {
				s = smallCaps.Replace(norm.NFKC.String(s))
			}
			return textfold.Fold(s)
		}
	}
	return strings.ToLower(s)
}

// fancyLetters reports compatibility letters in UTF-8 text: fullwidth forms
// (U+FF01–FF5E), mathematical alphanumerics (U+1D400–1D7FF), circled
// letters (U+24B6–24E9) and phonetic small capitals (U+1D00–1D2B, ʙ ʜ ɪ ʟ ɴ ʀ ʏ).
func fancyLetters(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		switch c := s[i]; c {
		case 0xEF:
			if s[i+1] == 0xBC || s[i+1] == 0xBD {
				return true
			}
		case 0xF0:
			if s[i+1] == 0x9D && s[i+2] >= 0x90 && s[i+2] <= 0x9F {
				return true
			}
		case 0xE2:
			if s[i+1] == 0x92 && s[i+2] >= 0xB6 || s[i+1] == 0x93 && s[i+2] <= 0xA9 {
				return true
			}
		case 0xE1:
			if s[i+1] == 0xB4 {
				return true
			}
		case 0xCA:
			if s[i+1] == 0x99 || s[i+1] == 0x9C || s[i+1] == 0x9F || s[i+1] == 0x80 || s[i+1] == 0x8F {
				return true
			}
		case 0xC9:
			if s[i+1] == 0xAA || s[i+1] == 0xB4 || s[i+1] == 0xA2 {
				return true
			}
		}
	}
	return false
}

// smallCaps maps phonetic small capitals, which have no compatibility
// decomposition, to their letters.
var smallCaps = strings.NewReplacer(
	"ᴀ", "a", "ʙ", "b", "ᴄ", "c", "ᴅ", "d", "ᴇ", "e", "ꜰ", "f", "ɢ", "g", "ʜ", "h", "ɪ", "i",
	"ᴊ", "j", "ᴋ", "k", "ʟ", "l", "ᴍ", "m", "ɴ", "n", "ᴏ", "o", "ᴘ", "p", "ʀ", "r", "ꜱ", "s",
	"ᴛ", "t", "ᴜ", "u", "ᴠ", "v", "ᴡ", "w", "ʏ", "y", "ᴢ", "z")

// normalizeWords turns folded text into letter/digit words separated by
// single spaces, with leetspeak (h4ck3d, pwn3d, h4x0r) read as letters.
func normalizeWords(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true
	wordStart := 0
	flushLeet := func() {
		w := b.String()[wordStart:]
		if hasDigit(w) && hasLetter(w) && len(w) <= 16 {
			r := strings.NewReplacer("4", "a", "3", "e", "1", "i", "0", "o", "5", "s", "7", "t", "@", "a").Replace(w)
			// Only leet when it yields a known word; brand names (fb88) stay.
			if _, ok := vocabulary[r]; ok {
				s := b.String()[:wordStart] + r
				b.Reset()
				b.WriteString(s)
			}
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		var letter bool
		size := 1
		if c < 0x80 {
			letter = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
		} else {
			r, n := utf8.DecodeRuneInString(s[i:])
			size = n
			// Spacing vowel signs (Mc) belong to their word in Indic scripts.
			letter = unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mc, r)
		}
		if letter {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			if space {
				wordStart = b.Len()
			}
			b.WriteString(s[i : i+size])
			space = false
		} else if !space {
			flushLeet()
			space = true
		}
		i += size
	}
	if !space {
		flushLeet()
	}
	return b.String()
}

func hasDigit(s string) bool  { return strings.ContainsAny(s, "0123456789") }
func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }

// matchTerms counts vocabulary phrases in normalised text.
func matchTerms(norm string, into map[string]int) {
	// Word boundaries.
	var starts [maxGram + 1]int
	n := 0
	pos := 0
	for pos <= len(norm) {
		end := strings.IndexByte(norm[pos:], ' ')
		if end < 0 {
			end = len(norm)
		} else {
			end += pos
		}
		if end > pos {
			// Shift window of word starts.
			if n < maxGram {
				starts[n] = pos
				n++
			} else {
				copy(starts[:], starts[1:maxGram])
				starts[maxGram-1] = pos
			}
			for k := 0; k < n; k++ {
				phrase := norm[starts[k]:end]
				if _, ok := vocabulary[phrase]; ok {
					into[phrase]++
				}
			}
			if w := norm[pos:end]; len(w) >= 6 {
				for _, st := range stems {
					if strings.HasPrefix(w, st.prefix) || st.anywhere && strings.Contains(w, st.prefix) && !strings.Contains(w, "exploit") {
						into[st.prefix+"…"]++
					}
				}
			}
		}
		pos = end + 1
	}
}

// scanVocab finds vocabulary in each part of the page.
func scanVocab(f *Features) []VocabHit {
	var hits []VocabHit
	scan := func(where, folded string) {
		if folded == "" {
			return
		}
		m := map[string]int{}
		matchTerms(normalizeWords(folded), m)
		for p, c := range m {
			t := vocabulary[p]
			hits = append(hits, VocabHit{Term: p, Kind: t.kind, Where: where, Count: c, Weight: t.weight})
		}
	}
	scan("text", f.Folded)
	scan("title", fold(f.Title))
	scan("meta", fold(f.Meta))
	scan("hidden", fold(f.HiddenText))
	scan("alt", fold(f.Alt))
	var anchors strings.Builder
	for _, l := range f.Links {
		if l.Tag == "a" && l.External && l.Text != "" && anchors.Len() < 32<<10 {
			anchors.WriteString(l.Text)
			anchors.WriteString(" | ")
		}
	}
	scan("anchor", fold(anchors.String()))
	return hits
}

package ransom

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var ransomActor = Actor{Pid: 4242, Exe: "/tmp/evil", UID: 1000}

type fixture struct {
	t   *testing.T
	dir string
	d   *Detector
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, dir: t.TempDir(), d: NewDetector(Policy{}, 1), now: time.Date(2026, 2, 16, 23, 0, 0, 0, time.UTC)}
}

// doc writes a text document and lets the detector learn it.
func (f *fixture) doc(rel string) string {
	p := filepath.Join(f.dir, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, bytes.Repeat([]byte("Kế hoạch ứng cứu sự cố năm 2026.\n"), 400), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := f.d.Learn(p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) handle(ev Event) *Detection {
	if ev.Actor == (Actor{}) {
		ev.Actor = ransomActor
	}
	f.now = f.now.Add(10 * time.Millisecond)
	if ev.Time.IsZero() {
		ev.Time = f.now
	}
	return f.d.Handle(ev)
}

// encryptInPlace overwrites a learned file with ciphertext and reports it.
func (f *fixture) encryptInPlace(p string) *Detection {
	b, _ := os.ReadFile(p)
	os.WriteFile(p, encrypt(b), 0o644)
	return f.handle(Event{Op: OpWrite, Path: p})
}

func (f *fixture) newFile(p string, data []byte) *Detection {
	os.MkdirAll(filepath.Dir(p), 0o755)
	f.handle(Event{Op: OpCreate, Path: p})
	os.WriteFile(p, data, 0o644)
	return f.handle(Event{Op: OpWrite, Path: p})
}

func TestTwoDestroyedFilesMakeADetection(t *testing.T) {
	f := newFixture(t)
	a, b := f.doc("a.txt"), f.doc("b.txt")
	if d := f.encryptInPlace(a); d != nil {
		t.Fatalf("one file is not enough: %+v", d)
	}
	if d := f.encryptInPlace(a); d != nil {
		t.Fatalf("the same file twice still counts once: %+v", d)
	}
	d := f.encryptInPlace(b)
	if d == nil || d.Score != 2 || d.Actor != ransomActor || len(d.Files) != 2 {
		t.Fatalf("detection %+v: want score 2 for the program with both files", d)
	}
	// The same process again within 30 s is not reported again.
	c := f.doc("c.txt")
	if d := f.encryptInPlace(c); d != nil {
		t.Errorf("reported twice within 30 s")
	}
}

func TestEvidenceExpiresAfterTheWindow(t *testing.T) {
	f := newFixture(t)
	a, b := f.doc("a.txt"), f.doc("b.txt")
	f.encryptInPlace(a)
	f.now = f.now.Add(11 * time.Minute)
	if d := f.encryptInPlace(b); d != nil {
		t.Errorf("files 11 minutes apart added up: %+v", d)
	}
}

func TestOwnEventsAreIgnored(t *testing.T) {
	f := newFixture(t)
	a, b := f.doc("a.txt"), f.doc("b.txt")
	self := Actor{Pid: 1, Exe: "/usr/bin/canhgac"}
	for _, p := range []string{a, b} {
		data, _ := os.ReadFile(p)
		os.WriteFile(p, encrypt(data), 0o644)
		if d := f.handle(Event{Op: OpWrite, Path: p, Actor: self}); d != nil {
			t.Fatalf("the watcher's own write detected: %+v", d)
		}
	}
}

func TestRansomNotes(t *testing.T) {
	f := newFixture(t)
	note := []byte("Your files are encrypted. Contact us.\n")
	// The same small text in three folders alone is a copy, not a note.
	for _, d := range []string{"x", "y", "z"} {
		if det := f.newFile(filepath.Join(f.dir, d, "README.txt"), note); det != nil {
			t.Fatalf("copies of a README detected: %+v", det)
		}
	}
	// With one destroyed file, they count.
	if det := f.encryptInPlace(f.doc("a.txt")); det == nil {
		t.Fatal("a destroyed file and the same text in three folders not detected")
	}

	g := newFixture(t)
	if det := g.newFile(filepath.Join(g.dir, "HƯỚNG DẪN GIẢI MÃ.txt"), note); det != nil {
		t.Fatalf("a note alone is not a detection: %+v", det)
	}
	det := g.encryptInPlace(g.doc("b.txt"))
	if det == nil {
		t.Fatal("a note named for decryption and a destroyed file not detected")
	}
}

func TestRenameBurstToANewExtension(t *testing.T) {
	f := newFixture(t)
	var det *Detection
	for _, n := range []string{"a.txt", "b.txt", "c.txt"} {
		p := f.doc(n)
		os.Rename(p, p+".wncry")
		det = f.handle(Event{Op: OpRename, From: p, Path: p + ".wncry"})
	}
	if det == nil || det.Score < 2 {
		t.Fatalf("three documents renamed to .wncry: %+v", det)
	}
	g := newFixture(t)
	for i, n := range []string{"a.txt", "b.txt", "c.txt", "d.txt"} {
		p := g.doc(n)
		to := p + []string{".bak", ".old", ".1", ".orig"}[i]
		os.Rename(p, to)
		if det := g.handle(Event{Op: OpRename, From: p, Path: to}); det != nil {
			t.Fatalf("renames to backup suffixes detected: %+v", det)
		}
	}
}

func TestEncryptToNewFileThenDelete(t *testing.T) {
	f := newFixture(t)
	var det *Detection
	for _, n := range []string{"a.txt", "b.txt"} {
		p := f.doc(n)
		data, _ := os.ReadFile(p)
		f.newFile(p+".locked", encrypt(data))
		os.Remove(p)
		det = f.handle(Event{Op: OpDelete, Path: p})
	}
	if det == nil {
		t.Fatal("originals replaced by encrypted copies not detected")
	}
	// gzip-style: the new file is a known compressed format.
	g := newFixture(t)
	for _, n := range []string{"a.log", "b.log", "c.log"} {
		p := g.doc(n)
		g.newFile(p+".gz", append([]byte{0x1f, 0x8b, 8, 0}, encrypt(bytes.Repeat([]byte{1}, 5000))...))
		os.Remove(p)
		if det := g.handle(Event{Op: OpDelete, Path: p}); det != nil {
			t.Fatalf("log compression detected: %+v", det)
		}
	}
}

func TestCopyOf(t *testing.T) {
	cases := []struct {
		newPath, orig string
		want          bool
	}{
		{"/d/a.docx.locked", "/d/a.docx", true},
		{"/d/a.docx.[id-123].crypt", "/d/a.docx", true},
		{"/d/a.locked", "/d/a.docx", true},
		{"/d/a.docx", "/d/a.docx", false},
		{"/e/a.docx.locked", "/d/a.docx", false},
		{"/d/ab.txt", "/d/a.docx", false},
	}
	for _, c := range cases {
		if got := copyOf(c.newPath, c.orig); got != c.want {
			t.Errorf("copyOf(%q, %q) = %v", c.newPath, c.orig, got)
		}
	}
}

func TestRecoveryKillerCommands(t *testing.T) {
	yes := []string{`vssadmin.exe Delete Shadows /All /Quiet`, `C:\Windows\System32\vssadmin.exe delete shadows /for=c: /all`,
		`wmic SHADOWCOPY DELETE`, `powershell -c "Get-WmiObject Win32_Shadowcopy | ForEach-Object { $_.Delete() }"`,
		`wbadmin DELETE SYSTEMSTATEBACKUP -keepVersions:0`, `wbadmin delete catalog -quiet`,
		`bcdedit /set {default} recoveryenabled No`, `bcdedit.exe /set {default} bootstatuspolicy ignoreallfailures`,
		`vssadmin resize shadowstorage /for=c: /on=c: /maxsize=401MB`}
	no := []string{`vssadmin list shadows`, `wbadmin start backup -backupTarget:E:`, `bcdedit /enum`, `wmic process list`,
		`rm -rf /tmp/build`}
	for _, c := range yes {
		if _, ok := recoveryKiller(c); !ok {
			t.Errorf("%q not recognised", c)
		}
	}
	for _, c := range no {
		if r, ok := recoveryKiller(c); ok {
			t.Errorf("%q taken for %s", c, r)
		}
	}
}

// Mass deletion in a backup folder is evidence, not a detection on its own
// (backup rotation deletes too); with a destroyed file it is.
func TestMassDeletionInBackups(t *testing.T) {
	f := newFixture(t)
	backups := filepath.Join(f.dir, "sao-luu")
	f.d = NewDetector(Policy{BackupDirs: []string{backups}}, 1)
	for i := range 25 {
		p := f.doc(filepath.Join("sao-luu", "csdl-"+string(rune('a'+i))+".sql"))
		os.Remove(p)
		if det := f.handle(Event{Op: OpDelete, Path: p}); det != nil {
			t.Fatalf("backup rotation alone detected: %+v", det)
		}
	}
	det := f.encryptInPlace(f.doc("a.txt"))
	if det == nil {
		t.Fatal("mass deletion of backups and a destroyed file not detected")
	}
	found := false
	for _, r := range det.Reasons {
		found = found || strings.Contains(r, "backup")
	}
	if !found {
		t.Errorf("reasons %v do not mention the backups", det.Reasons)
	}
}

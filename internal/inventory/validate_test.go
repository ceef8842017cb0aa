package inventory

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validInventory() *Inventory {
	return &Inventory{
		Host: Host{Hostname: "h", Arch: "amd64", OSName: "Windows 11 Pro", IPs: []string{"10.0.0.1"},
			Disks: []Disk{{Mount: `C:\`, FS: "NTFS", TotalMB: 100, FreeMB: 50}}},
		Packages: []Package{
			deb("bash", "5.2"),
			{Ecosystem: EcosystemWindows, Name: "Mozilla Firefox (x64 de)", Version: "", Origin: "Mozilla"},
			{Ecosystem: EcosystemWindows, Name: "日本語 IME ツール", Version: "1.0"},
		},
		Hotfixes:    []string{"KB5034441"},
		CollectedAt: time.Now(),
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(validInventory()); err != nil {
		t.Fatalf("valid inventory: %v", err)
	}
	cases := map[string]func(*Inventory){
		"empty name":        func(i *Inventory) { i.Packages[0].Name = "" },
		"empty deb version": func(i *Inventory) { i.Packages[0].Version = "" },
		"bad ecosystem":     func(i *Inventory) { i.Packages[0].Ecosystem = "npm" },
		"newline":           func(i *Inventory) { i.Packages[0].Name = "a\nb" },
		"nul":               func(i *Inventory) { i.Packages[0].Origin = "a\x00" },
		"escape":            func(i *Inventory) { i.Host.Hostname = "\x1b[31mred" },
		"invalid utf8":      func(i *Inventory) { i.Packages[0].Version = "1.\xff" },
		"bidi override":     func(i *Inventory) { i.Packages[1].Name = "evil\u202egpj.exe" },
		"long field":        func(i *Inventory) { i.Host.OSName = strings.Repeat("a", MaxFieldLen+1) },
		"negative disk":     func(i *Inventory) { i.Host.Disks[0].FreeMB = -1 },
		"negative cpus":     func(i *Inventory) { i.Host.CPUs = -1 },
		"empty ip":          func(i *Inventory) { i.Host.IPs = append(i.Host.IPs, "") },
		"too many ips":      func(i *Inventory) { i.Host.IPs = make([]string, MaxListLen+1) },
		"too many hotfixes": func(i *Inventory) { i.Hotfixes = make([]string, MaxHotfixes+1) },
		"repeated package":  func(i *Inventory) { i.Packages = append(i.Packages, i.Packages[0]) },
		"too many packages": func(i *Inventory) {
			i.Packages = make([]Package, MaxPackages+1)
			for j := range i.Packages {
				i.Packages[j] = deb("p", "1")
			}
		},
	}
	for name, mutate := range cases {
		inv := validInventory()
		mutate(inv)
		if err := Validate(inv); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Several versions of one package (rpm's kernels) are not repeats.
	kernels := validInventory()
	kernels.Packages = append(kernels.Packages, deb("bash", "5.1"))
	if err := Validate(kernels); err != nil {
		t.Errorf("two versions of one package: %v", err)
	}
	if err := Validate(nil); err == nil {
		t.Error("nil accepted")
	}
	inv := validInventory()
	inv.Packages = make([]Package, MaxPackages+1)
	if err := Validate(inv); !errors.Is(err, ErrTooManyPackages) {
		t.Errorf("too many packages: %v", err)
	}
}

func TestSanitize(t *testing.T) {
	for _, s := range []string{"a\nb\x00", "bad\xffutf8", "\u202e", strings.Repeat("é", MaxFieldLen)} {
		got := sanitize(s)
		if err := checkString("x", got); err != nil {
			t.Errorf("sanitize(%.20q) = %.20q: %v", s, got, err)
		}
	}
	if sanitize("fine ü") != "fine ü" {
		t.Error("sanitize changed a printable string")
	}
}

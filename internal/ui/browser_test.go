package ui_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// chromium finds a headless-capable Chromium: $CANHGAC_CHROMIUM, else
// Debian's chromium package. Outside CI the browser test skips without it;
// in CI it must run.
func chromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("CANHGAC_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set but Chromium is not installed: the browser test must run in CI (apt-get install chromium)")
	}
	t.Skip("Chromium not found (apt-get install chromium, or set CANHGAC_CHROMIUM); skipping the browser test")
	return ""
}

// headless starts Chromium for one test, bounded to 90 s. It stops when
// cancel is called or the test ends.
func headless(t *testing.T, bin string) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("lang", "vi-VN"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() { cancel(); cancelBrowser(); cancelAlloc() })
	return ctx, cancel
}

// TestBrowserLoginCreateAgencyAndAsset drives headless Chromium through the
// real UI: log in, create an agency, create an asset in it, see both
// listed, and narrow the asset list with the htmx live search.
func TestBrowserLoginCreateAgencyAndAsset(t *testing.T) {
	bin := chromium(t)
	s := storagetest.Backends(t)[0].Open(t)
	e := newEnv(t, s)
	e.user("admin", model.RoleAdmin, nil, false)

	ctx, _ := headless(t, bin)

	err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/login"),
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", "admin"),
		chromedp.SendKeys("#password", password),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#assets-by-agency"),
	)
	var dashboard string
	if err == nil {
		dashboard, err = chromedp.Run(ctx, chromedp.Text("main"))
	}
	if err != nil {
		t.Fatalf("log in: %v", err)
	}
	if !strings.Contains(dashboard, "Tài sản theo cơ quan, đơn vị") {
		t.Fatalf("dashboard after login:\n%s", dashboard)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/agencies/new"),
		chromedp.WaitVisible("#agency-name"),
		chromedp.SendKeys("#agency-name", "Sở Giáo dục và Đào tạo"),
		chromedp.SendKeys("#agency-code", "SGDDT"),
		chromedp.SetValue("#agency-kind", "department"),
		chromedp.SetValue("#agency-parent", fmt.Sprint(e.province.ID)),
		chromedp.Click("#agency-submit"),
		chromedp.WaitVisible("#agency-list"),
	)
	var agencies string
	if err == nil {
		agencies, err = chromedp.Run(ctx, chromedp.Text("#agency-list"))
	}
	if err != nil {
		t.Fatalf("create agency: %v", err)
	}
	if !strings.Contains(agencies, "Sở Giáo dục và Đào tạo") {
		t.Fatalf("new agency not listed:\n%s", agencies)
	}
	found, err := s.ListAgencies(context.Background(), model.System, storage.AgencyFilter{Query: "SGDDT"})
	if err != nil || found.Total != 1 {
		t.Fatalf("agency not stored: %+v %v", found, err)
	}
	agency := found.Items[0]

	err = chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/assets/new"),
		chromedp.WaitVisible("#asset-name"),
		chromedp.SendKeys("#asset-name", "Cổng giáo dục tỉnh"),
		chromedp.SetValue("#asset-agency", fmt.Sprint(agency.ID)),
		chromedp.SetValue("#asset-kind", "website"),
		chromedp.SendKeys("#asset-address", "https://sgddt.example.gov.vn"),
		chromedp.SetValue("#asset-level", "3"),
		chromedp.SendKeys("#asset-tags", "portal"),
		chromedp.Click("#asset-submit"),
		chromedp.WaitVisible("#asset-list"),
	)
	var assets string
	if err == nil {
		assets, err = chromedp.Run(ctx, chromedp.Text("#asset-list"))
	}
	if err != nil {
		t.Fatalf("create asset: %v", err)
	}
	if !strings.Contains(assets, "Cổng giáo dục tỉnh") || !strings.Contains(assets, "Sở Giáo dục và Đào tạo") {
		t.Fatalf("new asset not listed with its agency:\n%s", assets)
	}
	if !strings.Contains(assets, "Cổng thông tin Sở Y tế") {
		t.Fatalf("existing asset missing from the unfiltered list:\n%s", assets)
	}

	// The live search (htmx, vendored) narrows the list as you type, folding
	// diacritics, without a page load.
	err = chromedp.Do(ctx, chromedp.SendKeys("#asset-q", "cong giao duc"))
	if err != nil {
		t.Fatalf("type in search: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		// htmx may swap the table out between finding and reading it; read again.
		assets, err = chromedp.Run(ctx, chromedp.Text("#asset-list"))
		if err == nil && strings.Contains(assets, "Cổng giáo dục tỉnh") && !strings.Contains(assets, "Cổng thông tin Sở Y tế") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live search did not narrow the list (%v):\n%s", err, assets)
		}
		time.Sleep(100 * time.Millisecond)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if u, perr := url.Parse(loc); err != nil || perr != nil || u.Query().Get("q") != "cong giao duc" {
		t.Fatalf("live search did not update the address bar: %q %v", loc, err)
	}
}

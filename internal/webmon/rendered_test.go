package webmon_test

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"testing"

	"canhgac/internal/model"
	"canhgac/internal/storage/storagetest"
	"canhgac/internal/webmon"
	"canhgac/internal/webmon/evidence"
	"canhgac/internal/webmon/fetch"
	"canhgac/internal/webmon/render"
)

// A link farm that a script writes into the page after load is invisible
// in the raw HTML; a render_js monitor judges the rendered DOM, calls it
// defaced, and keeps a screenshot as evidence.
func TestRenderedPageIsJudged(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required under CI")
		}
		t.Skip("chromium not installed; skipping the rendered-page test")
	}
	s := storagetest.Backends(t)[0].Open(t)
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	pool, err := render.New(render.Config{Tabs: 1, Allow: fetch.Restricted(loopback...).PermitsHost})
	must(t, err)
	defer pool.Close()
	ev, err := evidence.Open(t.TempDir())
	must(t, err)
	e := newEnv(t, s, webmon.Config{Render: pool, Evidence: ev, Allow: loopback})
	srv := httptest.NewServer(nil)
	defer srv.Close()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app.js" {
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `var d=document.getElementById("f");d.style.display="none";
["nhacai-uytin-88.top","keo-nha-cai.top","tai-xiu-online.top"].forEach(function(h){var a=document.createElement("a");a.href="https://"+h+"/";a.textContent="nhà cái uy tín "+h;d.appendChild(a);});`)
			return
		}
		fmt.Fprint(w, `<html><head><title>Cổng thông tin Sở Y tế</title></head><body><h1>Sở Y tế</h1>
<p>Sở Y tế tổ chức hội nghị triển khai công tác phòng chống dịch bệnh mùa đông xuân, bảo đảm an toàn cho người dân.</p>
<div id="f"></div><script src="/app.js"></script></body></html>`)
	})

	raw := e.monitor(t, e.deptA, srv.URL+"/", func(m *webmon.Monitor) { m.Name = "raw" })
	js := e.monitor(t, e.deptA, srv.URL+"/?js", func(m *webmon.Monitor) { m.RenderJS = true; m.AllowPrivate = false })
	for _, m := range []webmon.Monitor{raw, js} {
		if _, err := e.svc.CheckNow(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := e.svc.Get(ctx, model.System, raw.ID); m.ContentState == "defaced" {
		t.Fatal("the raw HTML alone was called defaced: the test page is wrong")
	}
	m, _ := e.svc.Get(ctx, model.System, js.ID)
	if m.ContentState != "defaced" {
		t.Fatalf("rendered page judged %q", m.ContentState)
	}
	snaps, err := e.svc.Snapshots(ctx, model.System, js.ID, 5)
	must(t, err)
	if len(snaps) != 1 || snaps[0].ScreenshotKey == "" {
		t.Fatalf("no screenshot evidence: %+v", snaps)
	}
	shot, err := e.svc.Evidence(snaps[0].ScreenshotKey)
	must(t, err)
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
}

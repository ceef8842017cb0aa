package ransom

import (
	"strings"
	"testing"
)

var webshells = map[string]string{
	"china chopper":   `<?php @eval($_POST['pass']);?>`,
	"assert request":  `<?php assert($_REQUEST["x"]); ?>`,
	"base64 eval":     `<?php eval(base64_decode('ZWNobyAiaGVsbG8iOw==')); ?>`,
	"gzinflate eval":  `<?php eval(gzinflate(base64_decode('S0ktLklVsFUqSS0uUUgrys9VBAA='))); ?>`,
	"variable call":   `<?php $f = "sys"."tem"; $f($_GET['c']); ?>`,
	"system get":      `<?php echo "<pre>"; system($_GET['cmd']); echo "</pre>"; ?>`,
	"jsp exec":        `<% Process p = Runtime.getRuntime().exec(request.getParameter("cmd")); %>`,
	"asp eval":        `<%@ Page Language="Jscript"%><%eval(Request.Item["pass"],"unsafe");%>`,
	"classic asp":     `<% Execute(Request("x")) %>`,
	"aspx process":    `<%@ Page Language="C#" %><% System.Diagnostics.ProcessStartInfo si = new System.Diagnostics.ProcessStartInfo("cmd.exe", "/c " + Request["c"]); System.Diagnostics.Process.Start(si); %>`,
	"known shell":     `<?php /* b374k shell 3.2 */ $x = 1; ?>`,
	"preg_replace /e": `<?php preg_replace("/.*/e", $_POST['code'], ""); ?>`,
}

var benignWeb = map[string]string{
	"wordpress index":  "<?php\ndefine( 'WP_USE_THEMES', true );\nrequire __DIR__ . '/wp-blog-header.php';\n",
	"form handler":     `<?php $name = htmlspecialchars($_POST['ho_ten'] ?? ''); echo "Xin chào " . $name; ?>`,
	"image inline":     `<?php header('Content-Type: image/png'); echo base64_decode('iVBORw0KGgo='); ?>`,
	"config":           `<?php $db = ['host' => 'localhost', 'user' => 'cong_thong_tin']; ?>`,
	"aspx page":        `<%@ Page Language="C#" %><html><body><%= DateTime.Now %></body></html>`,
	"jsp page":         `<%@ page contentType="text/html; charset=UTF-8" %><p>Cổng dịch vụ công</p>`,
	"uploader checked": `<?php if (in_array($ext, $allowed)) { $ok = true; } ?>`,
}

func TestWebshellTraits(t *testing.T) {
	for name, src := range webshells {
		if s, reasons := ScoreWebshell([]byte(src)); s < WebshellThreshold {
			t.Errorf("%s: score %.0f (%v), want ≥ %d", name, s, reasons, WebshellThreshold)
		}
	}
	for name, src := range benignWeb {
		if s, reasons := ScoreWebshell([]byte(src)); s >= WebshellThreshold {
			t.Errorf("benign %s: score %.0f: %v", name, s, reasons)
		}
	}
	// A long obfuscated payload alone is suspicious but not enough.
	blob := "<?php $d = '" + strings.Repeat("QUJD", 1000) + "'; ?>"
	if s, _ := ScoreWebshell([]byte(blob)); s == 0 || s >= WebshellThreshold {
		t.Errorf("a long blob scored %.0f, want a weak signal", s)
	}
	for _, n := range []string{"a.php", "x.PHTML", "s.aspx", "b.jsp", "c.cgi"} {
		if !IsWebExecutable(n) {
			t.Errorf("%s not executable", n)
		}
	}
	for _, n := range []string{"a.html", "x.js", "s.css", "b.txt"} {
		if IsWebExecutable(n) {
			t.Errorf("%s taken as executable", n)
		}
	}
}

// FuzzScoreWebshell: any uploaded content is scored without panic, and
// a score always comes with its reasons.
func FuzzScoreWebshell(f *testing.F) {
	for _, s := range webshells {
		f.Add([]byte(s))
	}
	for _, s := range benignWeb {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, reasons := ScoreWebshell(b)
		if (s > 0) != (len(reasons) > 0) {
			t.Fatalf("score %v with reasons %v", s, reasons)
		}
	})
}

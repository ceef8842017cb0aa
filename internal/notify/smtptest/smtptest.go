// Package smtptest runs a small real ESMTP server on loopback for tests:
// EHLO with STARTTLS, AUTH PLAIN and LOGIN, implicit TLS, MAIL/RCPT/DATA
// with dot-unstuffing, and scripted failures. It records what it accepts.
// It is deliberately strict about the order of commands so a client that
// skips a step is caught, and lenient about everything else.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// Options shape the server's behaviour.
type Options struct {
	// Username and Password, when set, are the only accepted credentials and
	// MAIL is refused until the client has authenticated.
	Username, Password string
	// ImplicitTLS makes the server speak TLS from the first byte (port 465
	// style) instead of offering STARTTLS.
	ImplicitTLS bool
	// NoSTARTTLS stops the server from offering STARTTLS.
	NoSTARTTLS bool
	// AuthMechs is the AUTH line's list of mechanisms, "PLAIN LOGIN" by
	// default; the server still accepts either.
	AuthMechs string
	// Fail maps a command verb (MAIL, RCPT, DATA for the reply after the
	// message, EHLO, AUTH…) to the reply sent instead of the normal one,
	// e.g. {"MAIL": "451 4.7.1 Greylisted, try again later"}.
	Fail map[string]string
}

// Message is one accepted message.
type Message struct {
	From     string   // envelope sender
	To       []string // envelope recipients
	Data     []byte   // the message as received, dot-unstuffed, CRLF line endings
	TLS      bool     // the session was encrypted when DATA was sent
	AuthUser string   // who authenticated, "" if nobody
	AuthMech string   // PLAIN or LOGIN
}

// Server is a running test SMTP server.
type Server struct {
	Addr string // "127.0.0.1:port"
	Host string // "127.0.0.1"
	Port int
	// CertPEM is the server's self-signed certificate (valid for 127.0.0.1,
	// ::1 and localhost), for clients that want to verify it.
	CertPEM string

	opts     Options
	ln       net.Listener
	tlsConf  *tls.Config
	mu       sync.Mutex
	messages []Message
	wg       sync.WaitGroup
	conns    map[net.Conn]bool
}

// NewServer starts a server on 127.0.0.1 with a fresh self-signed
// certificate. It panics if it cannot listen, like httptest.NewServer.
func NewServer(opts Options) *Server {
	cert, certPEM, err := selfSigned()
	if err != nil {
		panic("smtptest: " + err.Error())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("smtptest: " + err.Error())
	}
	addr := ln.Addr().(*net.TCPAddr)
	s := &Server{
		Addr:    addr.String(),
		Host:    addr.IP.String(),
		Port:    addr.Port,
		CertPEM: certPEM,
		opts:    opts,
		ln:      ln,
		tlsConf: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		conns:   map[net.Conn]bool{},
	}
	s.wg.Add(1)
	go s.serve()
	return s
}

// Close stops the server and waits for its sessions to end.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			s.session(c)
		}()
	}
}

// session speaks SMTP on one connection.
func (s *Server) session(c net.Conn) {
	isTLS := false
	if s.opts.ImplicitTLS {
		tc := tls.Server(c, s.tlsConf)
		if tc.Handshake() != nil {
			return
		}
		c, isTLS = tc, true
	}
	tp := textproto.NewConn(c)
	reply := func(format string, args ...any) bool { return tp.PrintfLine(format, args...) == nil }
	reply("220 smtptest ESMTP ready")

	var (
		helo               bool
		authUser, authMech string
		from               string
		to                 []string
		inMail             bool
	)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if r, ok := s.opts.Fail[verb]; ok && verb != "DATA" {
			reply("%s", r)
			continue
		}
		switch verb {
		case "EHLO", "HELO":
			helo, inMail, from, to = true, false, "", nil
			ext := []string{"smtptest greets " + arg, "8BITMIME", "PIPELINING"}
			if !isTLS && !s.opts.NoSTARTTLS && !s.opts.ImplicitTLS {
				ext = append(ext, "STARTTLS")
			}
			mechs := s.opts.AuthMechs
			if mechs == "" {
				mechs = "PLAIN LOGIN"
			}
			ext = append(ext, "AUTH "+mechs)
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				reply("250%s%s", sep, e)
			}
		case "STARTTLS":
			if isTLS || s.opts.NoSTARTTLS || s.opts.ImplicitTLS {
				reply("502 5.5.1 STARTTLS not available")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(c, s.tlsConf)
			if tc.Handshake() != nil {
				return
			}
			c, isTLS = tc, true
			tp = textproto.NewConn(c)
			helo, authUser, inMail, from, to = false, "", false, "", nil // RFC 3207: forget everything
		case "AUTH":
			if !helo {
				reply("503 5.5.1 EHLO first")
				continue
			}
			if m, _, _ := strings.Cut(arg, " "); !strings.EqualFold(m, "PLAIN") && !strings.EqualFold(m, "LOGIN") {
				reply("504 5.5.4 Unrecognized authentication type")
				continue
			}
			user, pass, mech, ok := s.auth(tp, arg)
			if !ok {
				return
			}
			if s.opts.Username != "" && (user != s.opts.Username || pass != s.opts.Password) {
				reply("535 5.7.8 Authentication credentials invalid")
				continue
			}
			authUser, authMech = user, mech
			reply("235 2.7.0 Authentication successful")
		case "MAIL":
			switch {
			case !helo:
				reply("503 5.5.1 EHLO first")
			case s.opts.Username != "" && authUser == "":
				reply("530 5.7.0 Authentication required")
			default:
				addr, ok := path(arg, "FROM:")
				if !ok {
					reply("501 5.5.4 Syntax: MAIL FROM:<address>")
					continue
				}
				from, to, inMail = addr, nil, true
				reply("250 2.1.0 OK")
			}
		case "RCPT":
			addr, ok := path(arg, "TO:")
			switch {
			case !inMail:
				reply("503 5.5.1 MAIL first")
			case !ok || addr == "":
				reply("501 5.1.3 Bad recipient address syntax")
			default:
				to = append(to, addr)
				reply("250 2.1.5 OK")
			}
		case "DATA":
			if !inMail || len(to) == 0 {
				reply("503 5.5.1 RCPT first")
				continue
			}
			reply("354 End data with <CR><LF>.<CR><LF>")
			data, err := readData(tp)
			if err != nil {
				return
			}
			if r, ok := s.opts.Fail["DATA"]; ok {
				reply("%s", r)
			} else {
				s.mu.Lock()
				s.messages = append(s.messages, Message{From: from, To: to, Data: data, TLS: isTLS, AuthUser: authUser, AuthMech: authMech})
				s.mu.Unlock()
				reply("250 2.0.0 OK queued")
			}
			inMail, from, to = false, "", nil
		case "RSET":
			inMail, from, to = false, "", nil
			reply("250 2.0.0 OK")
		case "NOOP":
			reply("250 2.0.0 OK")
		case "QUIT":
			reply("221 2.0.0 Bye")
			return
		default:
			reply("500 5.5.2 Command not recognised")
		}
	}
}

// auth runs the AUTH exchange for PLAIN or LOGIN (the caller has checked
// which) and returns the credentials. ok is false when the connection broke.
func (s *Server) auth(tp *textproto.Conn, arg string) (user, pass, mech string, ok bool) {
	mech, initial, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	ask := func(prompt string) (string, bool) {
		if tp.PrintfLine("334 %s", base64.StdEncoding.EncodeToString([]byte(prompt))) != nil {
			return "", false
		}
		l, err := tp.ReadLine()
		if err != nil {
			return "", false
		}
		b, _ := base64.StdEncoding.DecodeString(l)
		return string(b), true
	}
	switch mech {
	case "PLAIN":
		var resp string
		if initial != "" {
			b, _ := base64.StdEncoding.DecodeString(initial)
			resp = string(b)
		} else if resp, ok = ask(""); !ok {
			return "", "", mech, false
		}
		parts := strings.Split(resp, "\x00")
		if len(parts) == 3 {
			return parts[1], parts[2], mech, true
		}
		return "", "", mech, true
	case "LOGIN":
		if user, ok = ask("Username:"); !ok {
			return "", "", mech, false
		}
		if pass, ok = ask("Password:"); !ok {
			return "", "", mech, false
		}
	}
	return user, pass, mech, true
}

// path extracts the address from "FROM:<a@b> BODY=8BITMIME".
func path(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

// readData reads message lines up to the lone ".", removing the extra dot
// that the client added to lines starting with "." (RFC 5321 §4.5.2).
func readData(tp *textproto.Conn) ([]byte, error) {
	var buf bytes.Buffer
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return nil, err
		}
		if line == "." {
			return buf.Bytes(), nil
		}
		line = strings.TrimPrefix(line, ".")
		buf.WriteString(line)
		buf.WriteString("\r\n")
	}
}

// selfSigned makes an ECDSA certificate for loopback names, valid one day.
func selfSigned() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, string(certPEM), nil
}

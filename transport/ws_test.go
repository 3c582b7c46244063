package transport

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/sipd/sipd/sip"
)

// wsRaw is a WebSocket client driven by hand: a connection after a
// successful opening handshake, with frames built and read by the test.
type wsRaw struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// upgradeRequest is an opening handshake that offers the sip subprotocol.
func upgradeRequest(path string) string {
	return "GET " + path + " HTTP/1.1\r\n" +
		"Host: sip-ws.example.com\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Origin: http://www.example.com\r\n" +
		"Sec-WebSocket-Protocol: sip\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
}

// dialWSRaw connects to a ws listener (or, with cfg, a wss one) and
// completes the opening handshake.
func dialWSRaw(t *testing.T, addr netip.AddrPort, cfg *tls.Config) *wsRaw {
	t.Helper()
	var c net.Conn = dialRaw(t, addr)
	if cfg != nil {
		cfg = cfg.Clone()
		cfg.ServerName = addr.Addr().String()
		tc := tls.Client(c, cfg)
		t.Cleanup(func() { tc.Close() })
		c = tc
	}
	write(t, c, upgradeRequest("/"))
	w := &wsRaw{t: t, c: c, br: bufio.NewReader(c)}
	c.SetReadDeadline(time.Now().Add(waitFor))
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake answered %s", resp.Status)
	}
	return w
}

// send writes one frame, masked with a fixed key as a client's must be
// unless masked is false.
func (w *wsRaw) send(op byte, fin, masked bool, payload []byte) {
	w.t.Helper()
	if _, err := w.c.Write(appendFrame(nil, op, fin, masked, [4]byte{0x37, 0xfa, 0x21, 0x3d}, payload)); err != nil {
		w.t.Fatal(err)
	}
}

// sendMessage sends a SIP message in one masked text frame.
func (w *wsRaw) sendMessage(msg string) { w.t.Helper(); w.send(wsOpText, true, true, []byte(msg)) }

type frame struct {
	fin     bool
	op      byte
	masked  bool
	payload []byte
}

// readFrame reads a frame without judging it: the test's own reader, so
// that the layer's is not checked against itself.
func readFrame(br *bufio.Reader) (frame, error) {
	var h [14]byte
	if _, err := io.ReadFull(br, h[:2]); err != nil {
		return frame{}, err
	}
	f := frame{fin: h[0]&0x80 != 0, op: h[0] & 0x0f, masked: h[1]&0x80 != 0}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(br, h[:2]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err := io.ReadFull(br, h[:8]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(h[:8])
	}
	if n > 1<<20 {
		return f, fmt.Errorf("frame of %d bytes", n)
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(br, key[:]); err != nil {
			return f, err
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return f, err
	}
	for i := range f.payload {
		f.payload[i] ^= key[i%4]
	}
	return f, nil
}

// next reads the next frame, failing after waitFor.
func (w *wsRaw) next() frame {
	w.t.Helper()
	w.c.SetReadDeadline(time.Now().Add(waitFor))
	f, err := readFrame(w.br)
	if err != nil {
		w.t.Fatalf("no frame: %v", err)
	}
	if f.masked {
		w.t.Error("the server masked a frame")
	}
	return f
}

// expectClose reads a Close frame with the given status, then the end of
// the connection.
func (w *wsRaw) expectClose(code uint16) {
	w.t.Helper()
	f := w.next()
	if f.op != wsOpClose {
		w.t.Fatalf("got opcode %#x %q, want a Close", f.op, f.payload)
	}
	if len(f.payload) < 2 {
		w.t.Fatalf("Close without a status, want %d", code)
	}
	if got := binary.BigEndian.Uint16(f.payload); got != code {
		w.t.Errorf("Close status %d, want %d", got, code)
	}
	if rest := readAll(w.t, w.c); rest != "" && w.br.Buffered() == 0 {
		w.t.Errorf("%q after the Close", rest)
	}
}

// wsRequest is a request from a browser-like client: Via WS with a random
// .invalid host (RFC 7118 §5.1), no Content-Length unless body says so.
func wsRequest(callID, body string) string {
	via := "SIP/2.0/WS df7jal23ls0d.invalid;rport;branch=z9hG4bK" + callID
	raw := rawRequest(sip.MethodMessage, callID, via, "Content-Type: text/plain\r\n")
	return strings.Replace(raw, "Content-Length: 0\r\n\r\n", "\r\n"+body, 1)
}

// TestWSAcceptKey: the example of RFC 6455 §1.3.
func TestWSAcceptKey(t *testing.T) {
	if got := wsAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("got %s", got)
	}
}

// TestWSHandshake: the opening handshake a ws listener accepts (RFC 6455
// §4.2.1 with the sip subprotocol of RFC 7118 §4.1) and the HTTP status it
// refuses the others with, before it closes the connection.
func TestWSHandshake(t *testing.T) {
	good := upgradeRequest("/")
	without := func(line string) string { return strings.Replace(good, line+"\r\n", "", 1) }
	replace := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	tests := []struct {
		name   string
		req    string
		status int
		header string // a header field the answer must carry, "Name: value"
	}{
		{"good", good, 101, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{"sip among several subprotocols", replace("Protocol: sip", "Protocol: chat, sip"), 101, "Sec-WebSocket-Protocol: sip"},
		{"any path", upgradeRequest("/ws?x=1"), 101, "Sec-WebSocket-Protocol: sip"},
		{"tokens in other case", replace("Upgrade: websocket\r\nConnection: Upgrade", "Upgrade: WebSocket\r\nConnection: keep-alive, upgrade"), 101, "Upgrade: websocket"},
		{"no subprotocol", without("Sec-WebSocket-Protocol: sip"), 400, ""},
		{"another subprotocol", replace("Protocol: sip", "Protocol: chat"), 400, ""},
		{"subprotocol names are exact", replace("Protocol: sip", "Protocol: SIP"), 400, ""},
		{"bad version", replace("Version: 13", "Version: 8"), 426, "Sec-WebSocket-Version: 13"},
		{"no version", without("Sec-WebSocket-Version: 13"), 426, "Sec-WebSocket-Version: 13"},
		{"not a GET", replace("GET", "POST"), 405, "Allow: GET"},
		{"HTTP/1.0", replace("HTTP/1.1", "HTTP/1.0"), 400, ""},
		{"no Upgrade", without("Upgrade: websocket"), 400, ""},
		{"no Connection: Upgrade", replace("Connection: Upgrade", "Connection: keep-alive"), 400, ""},
		{"no key", without("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), 400, ""},
		{"short key", replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="), 400, ""},
		{"a body", replace("\r\n\r\n", "\r\nContent-Length: 2\r\n\r\nhi"), 400, ""},
		{"not HTTP", "OPTIONS sip:x SIP/2.0\r\n\r\n", 400, ""},
		{"too large", replace("Origin:", "X-Pad: "+strings.Repeat("p", wsMaxHandshake)+"\r\nOrigin:"), 431, ""},
	}
	b := newLayer(t, Config{}, nil)
	addr := listen(t, b, "ws", "127.0.0.1:0")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			write(t, c, tt.req)
			br := bufio.NewReader(c)
			c.SetReadDeadline(time.Now().Add(waitFor))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %s, want %d", resp.Status, tt.status)
			}
			if name, value, ok := strings.Cut(tt.header, ": "); ok && resp.Header.Get(name) != value {
				t.Errorf("%s: %q, want %q", name, resp.Header.Get(name), value)
			}
			if tt.status == http.StatusSwitchingProtocols {
				if p := resp.Header.Values("Sec-WebSocket-Protocol"); len(p) != 1 || p[0] != "sip" {
					t.Errorf("Sec-WebSocket-Protocol %q, want sip", p)
				}
				// The connection is open: a Ping gets its Pong.
				w := &wsRaw{t: t, c: c, br: br}
				w.send(wsOpPing, true, true, []byte("open?"))
				if f := w.next(); f.op != wsOpPong || string(f.payload) != "open?" {
					t.Errorf("got opcode %#x %q, want a Pong", f.op, f.payload)
				}
				return
			}
			// A refusal says why in its body, then the connection closes.
			body, _ := io.ReadAll(resp.Body)
			if len(body) == 0 {
				t.Error("a refusal without a reason")
			}
			if rest := readAll(t, c); rest != "" || br.Buffered() != 0 {
				t.Errorf("%q after the refusal", rest)
			}
		})
	}
}

// TestWSHandshakeTimeout: an opening handshake left unfinished is cut off
// after ReadTimeout, and its connection leaves the table.
func TestWSHandshakeTimeout(t *testing.T) {
	b := newLayer(t, Config{ReadTimeout: 100 * time.Millisecond}, nil)
	c := dialRaw(t, listen(t, b, "ws", "127.0.0.1:0"))
	start := time.Now()
	write(t, c, "GET / HTTP/1.1\r\nHost: x\r\n")
	if got := readAll(t, c); got != "" {
		t.Errorf("got %q", got)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, before ReadTimeout", d)
	}
}

// TestWSDialHandshake: a server's answer to our opening handshake, sent
// by a fake server; only a right 101 lets the request through, anything
// else is ErrWSHandshake (RFC 6455 §4.1, RFC 7118 §4.1).
func TestWSDialHandshake(t *testing.T) {
	tests := []struct {
		name   string
		answer func(accept string) string // "" accepts
		ok     bool
	}{
		{"good", func(accept string) string { return "" }, true},
		{"refused", func(string) string {
			return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
		}, false},
		{"wrong accept", func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
		}, false},
		{"no subprotocol", func(accept string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + accept + "\r\n\r\n"
		}, false},
		{"no Upgrade", func(accept string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + accept + "\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newLayer(t, Config{WSPath: "/sip"}, nil)
			listen(t, a, "ws", "127.0.0.1:0")
			srv := newFakeWSServer(t)
			got := make(chan *sip.Request, 1)
			go srv.serve(t, func(w *wsRaw, req *http.Request) {
				if req.URL.Path != "/sip" || req.Host != srv.addr.String() {
					t.Errorf("handshake for %s on %s", req.Host, req.URL.Path)
				}
				if answer := tt.answer(wsAcceptKey(req.Header.Get("Sec-WebSocket-Key"))); answer != "" {
					io.WriteString(w.c, answer)
					return
				}
				writeSwitch(w.c, req)
				f, err := readFrame(w.br)
				if err != nil {
					t.Error(err)
					return
				}
				if !f.masked || f.op != wsOpText || !f.fin {
					t.Errorf("client frame masked %v opcode %#x fin %v", f.masked, f.op, f.fin)
				}
				r, err := sip.ParseRequest(f.payload)
				if err != nil {
					t.Error(err)
				}
				got <- r
			})
			err := a.SendRequest(newRequest(t, sip.MethodOptions, "dial", "SIP/2.0/WS x;branch=z9hG4bKd", nil), Target{Transport: WS, Addr: srv.addr})
			if !tt.ok {
				if !errors.Is(err, ErrWSHandshake) {
					t.Fatalf("got %v, want ErrWSHandshake", err)
				}
				if n := a.connCount(); n != 0 {
					t.Errorf("%d connections after a failed handshake", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-got:
				if v := topVia(t, r); v.Transport != WS {
					t.Errorf("Via %s, want WS", v)
				}
			case <-time.After(waitFor):
				t.Fatal("the server got no request")
			}
		})
	}
}

// fakeWSServer accepts one connection and hands its handshake request to
// a function that answers it.
type fakeWSServer struct {
	ln   net.Listener
	addr netip.AddrPort
}

func newFakeWSServer(t *testing.T) *fakeWSServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeWSServer{ln: ln, addr: ln.Addr().(*net.TCPAddr).AddrPort()}
}

// serve runs f on the first connection, then closes it. Run it in a
// goroutine; it reports with t.Error only.
func (s *fakeWSServer) serve(t *testing.T, f func(w *wsRaw, req *http.Request)) {
	c, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitFor))
	w := &wsRaw{t: t, c: c, br: bufio.NewReader(c)}
	req, err := http.ReadRequest(w.br)
	if err != nil {
		t.Error(err)
		return
	}
	if req.Header.Get("Sec-WebSocket-Protocol") != "sip" || req.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Errorf("handshake without sip or version 13: %v", req.Header)
	}
	f(w, req)
}

func writeSwitch(c net.Conn, req *http.Request) {
	io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "+wsAcceptKey(req.Header.Get("Sec-WebSocket-Key"))+"\r\nSec-WebSocket-Protocol: sip\r\n\r\n")
}

// TestWSMaskedServerFrame: RFC 6455 §5.1: a client closes the connection
// when a server masks a frame; the Close it sends says 1002.
func TestWSMaskedServerFrame(t *testing.T) {
	a := newLayer(t, Config{}, nil)
	listen(t, a, "ws", "127.0.0.1:0")
	srv := newFakeWSServer(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.serve(t, func(w *wsRaw, req *http.Request) {
			writeSwitch(w.c, req)
			if _, err := readFrame(w.br); err != nil { // the request
				t.Error(err)
				return
			}
			msg := rawResponse("masked", "SIP/2.0/WS 127.0.0.1;branch=z9hG4bKm")
			w.send(wsOpText, true, true, []byte(msg))
			f, err := readFrame(w.br)
			if err != nil {
				t.Error(err)
				return
			}
			if !f.masked || f.op != wsOpClose || len(f.payload) < 2 || binary.BigEndian.Uint16(f.payload) != wsCloseProtocolError {
				t.Errorf("got masked %v opcode %#x %q, want a masked Close 1002", f.masked, f.op, f.payload)
			}
			if _, err := w.br.ReadByte(); err != io.EOF {
				t.Errorf("connection not closed: %v", err)
			}
		})
	}()
	if err := a.SendRequest(newRequest(t, sip.MethodOptions, "masked", "SIP/2.0/WS x;branch=z9hG4bKm", nil), Target{Transport: WS, Addr: srv.addr}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * waitFor):
		t.Fatal("the fake server did not finish")
	}
}

// TestWSBadFrames: frames that break RFC 6455 fail the connection with a
// Close whose status says why (§7.1.7, §7.4.1), and nothing reaches the
// handler.
func TestWSBadFrames(t *testing.T) {
	gib := []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4} // 1 GiB, masked
	tests := []struct {
		name string
		send func(w *wsRaw)
		code uint16
	}{
		{"unmasked client frame", func(w *wsRaw) { w.send(wsOpText, true, false, []byte("hi")) }, wsCloseProtocolError},
		{"reserved bit", func(w *wsRaw) {
			b := appendFrame(nil, wsOpText, true, true, [4]byte{1, 2, 3, 4}, []byte("hi"))
			b[0] |= 0x40
			write(t, w.c, string(b))
		}, wsCloseProtocolError},
		{"reserved opcode", func(w *wsRaw) { w.send(0x3, true, true, []byte("hi")) }, wsCloseProtocolError},
		{"control frame over 125 bytes", func(w *wsRaw) { w.send(wsOpPing, true, true, make([]byte, 126)) }, wsCloseProtocolError},
		{"fragmented control frame", func(w *wsRaw) { w.send(wsOpPing, false, true, []byte("p")) }, wsCloseProtocolError},
		{"continuation without a message", func(w *wsRaw) { w.send(wsOpContinuation, true, true, []byte("hi")) }, wsCloseProtocolError},
		{"new message inside a fragmented one", func(w *wsRaw) {
			w.send(wsOpText, false, true, []byte("a"))
			w.send(wsOpText, true, true, []byte("b"))
		}, wsCloseProtocolError},
		{"close with a one-byte payload", func(w *wsRaw) { w.send(wsOpClose, true, true, []byte{3}) }, wsCloseProtocolError},
		{"close with status 1005", func(w *wsRaw) { w.send(wsOpClose, true, true, closePayload(1005)) }, wsCloseProtocolError},
		{"text that is not UTF-8", func(w *wsRaw) { w.send(wsOpText, true, true, []byte("OPTIONS \xff")) }, wsCloseInvalidData},
		{"a length of 1 GiB", func(w *wsRaw) { write(t, w.c, string(gib)) }, wsCloseTooBig},
		{"fragments over the limit", func(w *wsRaw) {
			w.send(wsOpBinary, false, true, make([]byte, 600))
			w.send(wsOpContinuation, true, true, make([]byte, 600))
		}, wsCloseTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			b := newLayer(t, Config{MaxMessageSize: 1000}, rec)
			w := dialWSRaw(t, listen(t, b, "ws", "127.0.0.1:0"), nil)
			tt.send(w)
			w.expectClose(tt.code)
			if len(rec.ch) != 0 {
				t.Error("the handler got a message")
			}
		})
	}
}

// TestWSFragmented: a message split over continuation frames arrives
// whole, and a Ping between its fragments (RFC 6455 §5.4) gets its Pong.
func TestWSFragmented(t *testing.T) {
	rec := newRecorder()
	b := newLayer(t, Config{}, rec)
	w := dialWSRaw(t, listen(t, b, "ws", "127.0.0.1:0"), nil)
	msg := wsRequest("frag", "a body in pieces")
	w.send(wsOpText, false, true, []byte(msg[:10]))
	w.send(wsOpPing, true, true, []byte("between"))
	w.send(wsOpContinuation, false, true, []byte(msg[10:100]))
	w.send(wsOpContinuation, false, true, nil)
	w.send(wsOpContinuation, true, true, []byte(msg[100:]))
	if f := w.next(); f.op != wsOpPong || !f.fin || string(f.payload) != "between" {
		t.Errorf("got opcode %#x %q, want Pong \"between\"", f.op, f.payload)
	}
	req, in := rec.nextRequest(t)
	if req.CallID() != "frag" || string(req.Body) != "a body in pieces" {
		t.Errorf("got %q with body %q", req.CallID(), req.Body)
	}
	if in.Transport != WS {
		t.Errorf("transport %s", in.Transport)
	}
}

// TestWSMessages: what one WebSocket message may hold (RFC 7118 §5): a SIP
// message without Content-Length, whose body is the rest of the message;
// a binary message; a CRLF keep-alive (§6); a request too broken to pass,
// answered 400 on the connection. Responses go back on the connection,
// and a non-UTF-8 one in a binary frame (§4.2). A Close ends it all with
// the closing handshake.
func TestWSMessages(t *testing.T) {
	rec := newRecorder()
	var b *Layer
	b = newLayer(t, Config{}, HandlerFunc(func(in *Inbound) {
		rec.HandleInbound(in)
		if req, ok := in.Msg.(*sip.Request); ok {
			resp := sip.NewResponse(req, sip.StatusOK, "")
			resp.Body = req.Body
			if err := b.SendResponse(resp, in.Source); err != nil {
				t.Error(err)
			}
		}
	}))
	w := dialWSRaw(t, listen(t, b, "ws", "127.0.0.1:0"), nil)
	local := w.c.LocalAddr().(*net.TCPAddr).AddrPort()

	answer := func(callID string, op byte, body string) {
		t.Helper()
		f := w.next()
		if f.op != op || !f.fin {
			t.Errorf("answer in opcode %#x, want %#x", f.op, op)
		}
		resp, err := sip.ParseResponse(f.payload)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != sip.StatusOK || resp.CallID() != callID || string(resp.Body) != body {
			t.Errorf("answer %d %s body %q, want 200 %s %q", resp.StatusCode, resp.CallID(), resp.Body, callID, body)
		}
	}

	w.sendMessage(wsRequest("no-cl", "body without Content-Length"))
	req, in := rec.nextRequest(t)
	if string(req.Body) != "body without Content-Length" {
		t.Errorf("body %q", req.Body)
	}
	v := topVia(t, req)
	if v.Host != "df7jal23ls0d.invalid" || v.Received() != "127.0.0.1" || param(v, "rport") != fmt.Sprint(local.Port()) {
		t.Errorf("Via %s, want received and rport stamped", v)
	}
	if in.Remote != local {
		t.Errorf("remote %v, want %v", in.Remote, local)
	}
	answer("no-cl", wsOpText, "body without Content-Length")

	w.send(wsOpBinary, true, true, []byte(wsRequest("binary", "\xff\xfe")))
	rec.nextRequest(t)
	answer("binary", wsOpBinary, "\xff\xfe")

	w.sendMessage("\r\n\r\n")
	if f := w.next(); f.op != wsOpText || string(f.payload) != "\r\n" {
		t.Errorf("keep-alive answered with opcode %#x %q, want CRLF", f.op, f.payload)
	}

	w.sendMessage(strings.Replace(wsRequest("broken", ""), "CSeq: 1 MESSAGE", "CSeq: x MESSAGE", 1))
	f := w.next()
	if r, err := sip.ParseResponse(f.payload); err != nil || r.StatusCode != sip.StatusBadRequest || r.CallID() != "broken" {
		t.Errorf("broken request answered %q (%v)", statusLine(string(f.payload)), err)
	}

	// The closing handshake: our status echoed, then the server closes.
	w.send(wsOpClose, true, true, append(closePayload(wsCloseNormal), "bye"...))
	w.expectClose(wsCloseNormal)
	if n := len(rec.ch); n != 0 {
		t.Errorf("%d more messages", n)
	}
}

// TestWSResponseRouting: RFC 7118 §5.3: a response goes back on the
// WebSocket connection, found from the Source's remote address when the
// Source lost its connection, and never over a new connection to the Via,
// whose host a browser makes up.
func TestWSResponseRouting(t *testing.T) {
	rec := newRecorder()
	b := newLayer(t, Config{}, rec)
	w := dialWSRaw(t, listen(t, b, "ws", "127.0.0.1:0"), nil)
	w.sendMessage(wsRequest("route", ""))
	req, in := rec.nextRequest(t)

	bare := Source{Transport: in.Transport, Remote: in.Remote, Local: in.Local} // no connection
	if err := b.SendResponse(sip.NewResponse(req, sip.StatusOK, ""), bare); err != nil {
		t.Fatal(err)
	}
	if r, err := sip.ParseResponse(w.next().payload); err != nil || r.CallID() != "route" {
		t.Fatalf("got %v, %v", r, err)
	}

	in.via.(*conn).close()
	err := b.SendResponse(sip.NewResponse(req, sip.StatusOK, ""), in.Source)
	if err == nil {
		t.Fatal("a response went out with the connection gone")
	}
	if err := b.SendResponse(sip.NewResponse(req, sip.StatusOK, ""), bare); !errors.Is(err, ErrNoRoute) {
		t.Errorf("got %v, want ErrNoRoute", err)
	}
	if n := b.connCount(); n != 0 {
		t.Errorf("%d connections: one was opened", n)
	}
}

// TestWSIdle: an idle WebSocket connection is closed with a Close frame
// saying 1001 (going away).
func TestWSIdle(t *testing.T) {
	b := newLayer(t, Config{IdleTimeout: 100 * time.Millisecond}, nil)
	start := time.Now()
	w := dialWSRaw(t, listen(t, b, "ws", "127.0.0.1:0"), nil)
	w.expectClose(wsCloseGoingAway)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, before IdleTimeout", d)
	}
}

// TestWSS: the same framing under TLS, with the raw client.
func TestWSS(t *testing.T) {
	cfg := tlsConfig(t)
	rec := newRecorder()
	b := newLayer(t, Config{TLSConfig: cfg}, rec)
	w := dialWSRaw(t, listen(t, b, "wss", "127.0.0.1:0"), cfg)
	w.sendMessage(wsRequest("secure", "x"))
	if req, in := rec.nextRequest(t); req.CallID() != "secure" || in.Transport != WSS {
		t.Errorf("got %s over %s", req.CallID(), in.Transport)
	}
	w.send(wsOpText, true, false, []byte("unmasked"))
	w.expectClose(wsCloseProtocolError)
}

// TestWSFrameExamples: the frames of RFC 6455 §5.7, written and read.
func TestWSFrameExamples(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	big := make([]byte, 65536)
	tests := []struct {
		name    string
		wire    []byte
		masked  bool
		op      byte
		payload []byte
	}{
		{"unmasked text", []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, false, wsOpText, []byte("Hello")},
		{"masked text", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, true, wsOpText, []byte("Hello")},
		{"fragmented", []byte{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}, false, wsOpText, []byte("Hello")},
		{"ping", []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, false, wsOpPing, []byte("Hello")},
		{"masked pong", []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, true, wsOpPong, []byte("Hello")},
		{"256 bytes binary", append([]byte{0x82, 0x7E, 0x01, 0x00}, big[:256]...), false, wsOpBinary, big[:256]},
		{"64 KiB binary", append([]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, big...), false, wsOpBinary, big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "fragmented" {
				if got := appendFrame(nil, tt.op, true, tt.masked, key, tt.payload); !bytes.Equal(got, tt.wire) {
					t.Errorf("appendFrame: % x, want % x", got[:min(len(got), 16)], tt.wire[:min(len(tt.wire), 16)])
				}
			}
			r := wsReader{r: bytes.NewReader(tt.wire), masked: tt.masked, max: 1 << 20}
			op, p, err := r.next()
			if err != nil || op != tt.op || !bytes.Equal(p, tt.payload) {
				t.Errorf("next: opcode %#x, %d bytes, %v", op, len(p), err)
			}
			if _, _, err := r.next(); err != io.EOF {
				t.Errorf("after the frame: %v, want EOF", err)
			}
		})
	}
}

// TestWSTooLargeNotAllocated: a header claiming 1 GiB is refused from the
// header alone, without reading or allocating the payload.
func TestWSTooLargeNotAllocated(t *testing.T) {
	hdr := []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0x40, 0, 0, 0} // and no payload
	src := bytes.NewReader(hdr)
	r := &wsReader{r: src, masked: true, max: sip.DefaultMaxMessageSize}
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(hdr)
		_, _, err = r.next()
	})
	if err != errWSTooLarge {
		t.Fatalf("got %v, want errWSTooLarge", err)
	}
	if allocs != 0 || cap(r.msg) != 0 {
		t.Errorf("%v allocations, message buffer of %d bytes", allocs, cap(r.msg))
	}
}

// FuzzWSFrames: the frame reader never panics, never hands out a message
// over its limit nor keeps a buffer over it, and never loops without
// reading; each input is read in pieces of the sizes its first byte picks.
func FuzzWSFrames(f *testing.F) {
	key := [4]byte{1, 2, 3, 4}
	frames := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	for _, seed := range [][]byte{
		frames(appendFrame(nil, wsOpText, true, true, key, []byte("INVITE sip:x SIP/2.0\r\n\r\n"))),
		frames(appendFrame(nil, wsOpText, false, true, key, []byte("ab")),
			appendFrame(nil, wsOpPing, true, true, key, []byte("p")),
			appendFrame(nil, wsOpContinuation, true, true, key, []byte("cd"))),
		frames(appendFrame(nil, wsOpBinary, true, false, key, make([]byte, 300))),
		frames(appendFrame(nil, wsOpClose, true, true, key, closePayload(1000))),
		{0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4},
		{0x81, 0xfe, 0x10, 0x00, 1, 2, 3, 4},
		{0xc1, 0x80, 1, 2, 3, 4},
	} {
		f.Add(byte(0), seed)
		f.Add(byte(0x81), seed)
	}
	const limit = 1024
	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		var in io.Reader = bytes.NewReader(data)
		switch mode & 3 {
		case 1:
			in = iotest.OneByteReader(in)
		case 2:
			in = iotest.HalfReader(in)
		}
		r := wsReader{r: in, masked: mode&0x80 != 0, max: limit}
		for range len(data) + 1 { // each frame takes at least 2 bytes
			op, p, err := r.next()
			if err != nil {
				var we *wsError
				if !errors.As(err, &we) && err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			switch op {
			case wsOpText, wsOpBinary:
				if len(p) > limit {
					t.Fatalf("message of %d bytes over the limit %d", len(p), limit)
				}
			case wsOpPing, wsOpPong, wsOpClose:
				if len(p) > wsMaxControl {
					t.Fatalf("control frame of %d bytes", len(p))
				}
			default:
				t.Fatalf("handed out opcode %#x", op)
			}
			if cap(r.msg) > limit {
				t.Fatalf("buffer of %d bytes over the limit %d", cap(r.msg), limit)
			}
		}
		t.Fatal("more frames than the input can hold")
	})
}

package transport

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WebSocket as a SIP transport (RFC 7118) over RFC 6455 framing. A WS or
// WSS connection is a stream connection like TCP or TLS: it sits in the
// same table under the same limits and timeouts. It differs in two places:
// the opening handshake (an HTTP/1.1 Upgrade asking for the "sip"
// subprotocol, after the TLS handshake for WSS), and framing: each SIP
// message is one WebSocket message (RFC 7118 §5), so Content-Length is not
// needed to find its end and the message is parsed as a datagram is.

// Opcodes (RFC 6455 §5.2).
const (
	wsOpContinuation = 0x0
	wsOpText         = 0x1
	wsOpBinary       = 0x2
	wsOpClose        = 0x8
	wsOpPing         = 0x9
	wsOpPong         = 0xA
)

// Close status codes (RFC 6455 §7.4.1).
const (
	wsCloseNormal        = 1000
	wsCloseGoingAway     = 1001
	wsCloseProtocolError = 1002
	wsCloseInvalidData   = 1007
	wsClosePolicy        = 1008
	wsCloseTooBig        = 1009
)

const (
	// wsGUID is appended to Sec-WebSocket-Key to compute
	// Sec-WebSocket-Accept (RFC 6455 §1.3).
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	// wsSubprotocol is the subprotocol RFC 7118 §4.1 registers.
	wsSubprotocol = "sip"
	// wsMaxHandshake bounds an opening handshake, request or response,
	// headers included; browsers send cookies, so it is not tiny.
	wsMaxHandshake = 32 << 10
	// wsMaxControl is the largest control frame payload (RFC 6455 §5.5).
	wsMaxControl = 125
	// wsMaxHeader is the longest frame header: 2 bytes, an 8-byte
	// length and a 4-byte masking key.
	wsMaxHeader = 14
	// lingerTime bounds how long a connection we close for cause still
	// reads what its peer sends, so that the peer gets our last word (an
	// HTTP refusal, a Close frame) instead of a reset that discards it
	// (net/http's rstAvoidanceDelay).
	lingerTime = 500 * time.Millisecond
)

// wsError fails a WebSocket connection (RFC 6455 §7.1.7): the peer broke
// a framing rule, and code is the status the Close frame we send carries.
type wsError struct {
	code   uint16
	reason string
}

func (e *wsError) Error() string { return "transport: websocket: " + e.reason }

// Framing errors, preallocated: a flood of bad frames must not allocate.
var (
	errWSUnmasked          = &wsError{wsCloseProtocolError, "unmasked frame from a client"}
	errWSMasked            = &wsError{wsCloseProtocolError, "masked frame from a server"}
	errWSReserved          = &wsError{wsCloseProtocolError, "reserved bits set"}
	errWSOpcode            = &wsError{wsCloseProtocolError, "reserved opcode"}
	errWSControlTooLong    = &wsError{wsCloseProtocolError, "control frame longer than 125 bytes"}
	errWSControlFragmented = &wsError{wsCloseProtocolError, "fragmented control frame"}
	errWSContinuation      = &wsError{wsCloseProtocolError, "continuation frame without a message"}
	errWSInterleaved       = &wsError{wsCloseProtocolError, "data frame inside a fragmented message"}
	errWSLength            = &wsError{wsCloseProtocolError, "payload length with the top bit set"}
	errWSClosePayload      = &wsError{wsCloseProtocolError, "malformed close frame"}
	errWSUTF8              = &wsError{wsCloseInvalidData, "text that is not utf-8"}
	errWSTooLarge          = &wsError{wsCloseTooBig, "message too large"}
)

// wsReader reads frames (RFC 6455 §5.2) and hands out whole data messages,
// continuation frames reassembled, and control frames, which may come
// between the fragments of a message (§5.4). A server's reader demands
// masked frames and a client's unmasked ones (§5.1). No data message grows
// beyond max bytes: a frame whose length would take it there is refused
// from its header, before its payload is read or room made for it.
type wsReader struct {
	r      io.Reader
	masked bool // frames must be masked: we are the server
	max    int  // bound on a data message's payload

	op   byte   // opcode of the data message under way, 0 when none
	msg  []byte // its payload so far; cap(msg) <= max
	done bool   // msg was handed out: start the next one afresh
	hdr  [8]byte
	ctl  [wsMaxControl]byte
}

// partial reports whether a fragmented data message is under way.
func (r *wsReader) partial() bool { return r.op != 0 }

// next returns the next data message (op wsOpText or wsOpBinary) or
// control frame (wsOpClose, wsOpPing, wsOpPong). payload is valid until the
// next call. An error is a *wsError for a broken rule, else the reader's;
// the connection cannot be read any further either way.
func (r *wsReader) next() (op byte, payload []byte, err error) {
	if r.done {
		r.msg, r.done = r.msg[:0], false
	}
	for {
		if _, err := io.ReadFull(r.r, r.hdr[:2]); err != nil {
			return 0, nil, err
		}
		b0, b1 := r.hdr[0], r.hdr[1]
		fin, op := b0&0x80 != 0, b0&0x0f
		if b0&0x70 != 0 {
			// RSV1-3: no extension was negotiated (§5.2).
			return 0, nil, errWSReserved
		}
		if masked := b1&0x80 != 0; masked != r.masked {
			if r.masked {
				return 0, nil, errWSUnmasked
			}
			return 0, nil, errWSMasked
		}
		control := op&0x8 != 0
		switch op {
		case wsOpContinuation:
			if r.op == 0 {
				return 0, nil, errWSContinuation
			}
		case wsOpText, wsOpBinary:
			if r.op != 0 {
				return 0, nil, errWSInterleaved
			}
		case wsOpClose, wsOpPing, wsOpPong:
			// §5.5: control frames are short and never fragmented.
			if !fin {
				return 0, nil, errWSControlFragmented
			}
			if b1&0x7f > wsMaxControl {
				return 0, nil, errWSControlTooLong
			}
		default:
			return 0, nil, errWSOpcode
		}
		n := uint64(b1 & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(r.r, r.hdr[:2]); err != nil {
				return 0, nil, noEOF(err)
			}
			n = uint64(binary.BigEndian.Uint16(r.hdr[:2]))
		case 127:
			if _, err := io.ReadFull(r.r, r.hdr[:8]); err != nil {
				return 0, nil, noEOF(err)
			}
			n = binary.BigEndian.Uint64(r.hdr[:8])
			if n>>63 != 0 {
				return 0, nil, errWSLength
			}
		}
		if !control && n > uint64(r.max-len(r.msg)) {
			// Refused on the length alone: nothing is allocated
			// for what the header claims.
			return 0, nil, errWSTooLarge
		}
		var key [4]byte
		if r.masked {
			if _, err := io.ReadFull(r.r, key[:]); err != nil {
				return 0, nil, noEOF(err)
			}
		}
		if control {
			p := r.ctl[:n]
			if _, err := io.ReadFull(r.r, p); err != nil {
				return 0, nil, noEOF(err)
			}
			maskBytes(key, p)
			return op, p, nil
		}
		have := len(r.msg)
		need := have + int(n)
		if need > cap(r.msg) {
			// Grow by doubling, never past max (need <= max).
			m := make([]byte, have, min(max(2*cap(r.msg), need, 512), r.max))
			copy(m, r.msg)
			r.msg = m
		}
		r.msg = r.msg[:need]
		if _, err := io.ReadFull(r.r, r.msg[have:]); err != nil {
			return 0, nil, noEOF(err)
		}
		maskBytes(key, r.msg[have:])
		if op != wsOpContinuation {
			r.op = op
		}
		if !fin {
			continue
		}
		op, r.op, r.done = r.op, 0, true
		if op == wsOpText && !utf8.Valid(r.msg) {
			// §8.1: a text message must be UTF-8.
			return 0, nil, errWSUTF8
		}
		return op, r.msg, nil
	}
}

// noEOF turns an EOF inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// maskBytes applies a masking key to a frame's payload (RFC 6455 §5.3);
// masking and unmasking are the same.
func maskBytes(key [4]byte, b []byte) {
	if len(b) >= 8 {
		k := uint64(binary.LittleEndian.Uint32(key[:]))
		k |= k << 32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// appendFrame appends a frame (RFC 6455 §5.2) with the given opcode and
// payload; masked frames carry key, as a client's must (§5.3).
func appendFrame(b []byte, op byte, fin, masked bool, key [4]byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n <= wsMaxControl:
		b = append(b, b0, m|byte(n))
	case n <= math.MaxUint16:
		b = append(b, b0, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !masked {
		return append(b, payload...)
	}
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	maskBytes(key, b[start:])
	return b
}

// messageOpcode is the frame type a SIP message goes in: text when it is
// UTF-8, else binary (RFC 7118 §4.2).
func messageOpcode(msg []byte) byte {
	if utf8.Valid(msg) {
		return wsOpText
	}
	return wsOpBinary
}

// closePayload is a Close frame's payload with a status code and no reason.
func closePayload(code uint16) []byte {
	return binary.BigEndian.AppendUint16(make([]byte, 0, 2), code)
}

// parseClose checks a Close frame's payload (RFC 6455 §5.5.1, §7.4) and
// returns its status code, 0 when it has none.
func parseClose(p []byte) (uint16, error) {
	switch len(p) {
	case 0:
		return 0, nil
	case 1:
		return 0, errWSClosePayload
	}
	code := binary.BigEndian.Uint16(p)
	if !validCloseCode(code) {
		return 0, errWSClosePayload
	}
	if !utf8.Valid(p[2:]) {
		return 0, errWSUTF8
	}
	return code, nil
}

// validCloseCode reports whether a Close frame may carry code: the ones
// RFC 6455 §7.4.1 and the IANA registry define for the wire, and the
// ranges for libraries and applications (§7.4.2). 1005, 1006 and 1015
// only stand for conditions and are never sent.
func validCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// wsStream is the read side of a WebSocket connection: the buffered
// reader its opening handshake was read with, which may already hold the
// first frames.
type wsStream struct {
	lr io.LimitedReader // wsMaxHandshake during the handshake, then lifted
	br *bufio.Reader    // reads lr
}

func newWSStream(nc net.Conn) *wsStream {
	ws := &wsStream{lr: io.LimitedReader{R: nc, N: wsMaxHandshake}}
	ws.br = bufio.NewReaderSize(&ws.lr, smallBufSize)
	return ws
}

// opened lifts the handshake's bound for the frames that follow.
func (ws *wsStream) opened() { ws.lr.N = math.MaxInt64 }

// wsAcceptKey is the Sec-WebSocket-Accept value for a Sec-WebSocket-Key
// (RFC 6455 §4.2.2 step 5.4).
func wsAcceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// hasToken reports whether the comma-separated values of a header field
// list token: without regard to case for Upgrade and Connection (RFC 9110
// §7.8, §7.6.1), exactly for a subprotocol name.
func hasToken(values []string, token string, fold bool) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == token || (fold && strings.EqualFold(t, token)) {
				return true
			}
		}
	}
	return false
}

// checkUpgrade checks a client's opening handshake (RFC 6455 §4.2.1) and
// that it asks for the sip subprotocol (RFC 7118 §4.1). It returns the
// Sec-WebSocket-Key, or the HTTP status to refuse the handshake with and
// why. Any request path is accepted, as browsers' SIP stacks use many.
func checkUpgrade(r *http.Request) (key string, status int, reason string) {
	switch {
	case r.Method != http.MethodGet:
		return "", http.StatusMethodNotAllowed, "a websocket handshake is a GET"
	case !r.ProtoAtLeast(1, 1):
		return "", http.StatusBadRequest, "a websocket handshake needs HTTP/1.1"
	case r.Host == "":
		return "", http.StatusBadRequest, "no Host"
	case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
		return "", http.StatusBadRequest, "a websocket handshake has no body"
	case !hasToken(r.Header.Values("Upgrade"), "websocket", true):
		return "", http.StatusBadRequest, "not a websocket upgrade"
	case !hasToken(r.Header.Values("Connection"), "Upgrade", true):
		return "", http.StatusBadRequest, "Connection does not list Upgrade"
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		// §4.4: 426 with the versions we speak.
		return "", http.StatusUpgradeRequired, "websocket version 13 only"
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return "", http.StatusBadRequest, "need one Sec-WebSocket-Key"
	}
	key = strings.TrimSpace(keys[0])
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		return "", http.StatusBadRequest, "malformed Sec-WebSocket-Key"
	}
	if !hasToken(r.Header.Values("Sec-WebSocket-Protocol"), wsSubprotocol, false) {
		// RFC 7118 §4.1: the client MUST offer "sip"; a connection
		// without it could not carry SIP.
		return "", http.StatusBadRequest, "the sip subprotocol is required"
	}
	return key, 0, ""
}

// httpRefusal is the HTTP response that refuses an opening handshake.
func httpRefusal(status int, reason string) []byte {
	b := make([]byte, 0, 256)
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	switch status {
	case http.StatusUpgradeRequired:
		b = append(b, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"...)
	case http.StatusMethodNotAllowed:
		b = append(b, "Allow: GET\r\n"...)
	}
	b = append(b, "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(reason)+1), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, reason...)
	return append(b, '\n')
}

// errWSRefused: we refused a client's opening handshake.
var errWSRefused = errors.New("transport: websocket handshake refused")

// acceptWS reads and answers the opening handshake of an accepted WS or
// WSS connection, within ReadTimeout; a refusal is answered with an HTTP
// error status before the connection is closed.
func (c *conn) acceptWS() error {
	l := c.l
	ws := newWSStream(c.nc)
	if err := c.nc.SetReadDeadline(time.Now().Add(l.cfg.ReadTimeout)); err != nil {
		return err
	}
	req, err := http.ReadRequest(ws.br)
	if err != nil {
		var ne net.Error
		switch {
		case ws.lr.N == 0:
			c.refuse(http.StatusRequestHeaderFieldsTooLarge, "handshake too large")
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne):
			// The peer left or stalled: no one to answer.
		default:
			c.refuse(http.StatusBadRequest, "malformed HTTP request")
		}
		return err
	}
	key, status, reason := checkUpgrade(req)
	if status != 0 {
		l.log.Debug("websocket handshake refused", "transport", c.transport, "remote", c.remote,
			"status", status, "reason", reason)
		c.refuse(status, reason)
		return errWSRefused
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wsAcceptKey(key) + "\r\n" +
		"Sec-WebSocket-Protocol: " + wsSubprotocol + "\r\n\r\n"
	if err := c.writeRaw([]byte(resp)); err != nil {
		return err
	}
	ws.opened()
	c.ws = ws
	return nil
}

// refuse answers an opening handshake with an HTTP error and lingers.
func (c *conn) refuse(status int, reason string) {
	if c.writeRaw(httpRefusal(status, reason)) == nil {
		c.linger()
	}
}

// linger ends our side of the connection and reads, and drops, what the
// peer still sends until it closes too, lingerTime passes or more than a
// message's worth came; the caller then closes the connection.
func (c *conn) linger() {
	cw, ok := c.nc.(interface{ CloseWrite() error }) // *net.TCPConn, *tls.Conn
	if !ok || cw.CloseWrite() != nil {
		return
	}
	if c.nc.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(c.nc, int64(c.l.cfg.MaxMessageSize)+wsMaxHandshake))
}

// dialWS runs the client's opening handshake on nc, a connected TCP (WS)
// or TLS (WSS) connection to dst, within ctx: a GET of Config.WSPath with
// a random key, offering the sip subprotocol (RFC 6455 §4.1, RFC 7118
// §4.1). host names the server in the Host header; "" means dst's IP.
func (l *Layer) dialWS(ctx context.Context, nc net.Conn, host string, dst netip.AddrPort) (*wsStream, error) {
	path := l.cfg.WSPath
	if path == "" {
		path = "/"
	}
	if path[0] != '/' || strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("transport: bad Config.WSPath " + strconv.Quote(path))
	}
	if host == "" {
		host = dst.Addr().String()
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])

	if d, ok := ctx.Deadline(); ok {
		if err := nc.SetDeadline(d); err != nil {
			return nil, err
		}
	}
	// Close cancels ctx: let it cut the handshake short.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + net.JoinHostPort(host, strconv.Itoa(int(dst.Port()))) + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: " + wsSubprotocol + "\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		return nil, err
	}
	ws := newWSStream(nc)
	resp, err := http.ReadResponse(ws.br, nil)
	if err != nil {
		return nil, err
	}
	if err := checkSwitch(resp, key); err != nil {
		return nil, err
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	ws.opened()
	return ws, nil
}

// checkSwitch checks the server's answer to our opening handshake
// (RFC 6455 §4.1, the client's checks; RFC 7118 §4.1: the 101 MUST name
// the sip subprotocol). RFC 7118 §4.1: no 101 is a transaction error,
// which the returned error becomes.
func checkSwitch(resp *http.Response, key string) error {
	fail := func(why string) error { return fmt.Errorf("%w: %s", ErrWSHandshake, why) }
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return fail("websocket handshake answered " + resp.Status)
	case !hasToken(resp.Header.Values("Upgrade"), "websocket", true):
		return fail("101 without Upgrade: websocket")
	case !hasToken(resp.Header.Values("Connection"), "Upgrade", true):
		return fail("101 without Connection: Upgrade")
	case resp.Header.Get("Sec-WebSocket-Accept") != wsAcceptKey(key):
		return fail("wrong Sec-WebSocket-Accept")
	case len(resp.Header.Values("Sec-WebSocket-Protocol")) != 1 ||
		strings.TrimSpace(resp.Header.Get("Sec-WebSocket-Protocol")) != wsSubprotocol:
		return fail("101 without the sip subprotocol")
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		return fail("101 with extensions we did not offer")
	}
	return nil
}

// writeWS sends one frame with FIN set: a whole message or a control
// frame. A client masks its frames with a fresh key (RFC 6455 §5.3).
func (c *conn) writeWS(op byte, payload []byte) error {
	var key [4]byte
	masked := !c.accepted
	if masked {
		rand.Read(key[:])
	}
	var buf []byte
	switch size := len(payload) + wsMaxHeader; {
	case size <= smallBufSize:
		bp := c.l.bufs.getSmall()
		defer c.l.bufs.putSmall(bp)
		buf = bp[:0]
	case size <= largeBufSize:
		bp := c.l.bufs.getLarge()
		defer c.l.bufs.putLarge(bp)
		buf = bp[:0]
	default:
		buf = make([]byte, 0, size)
	}
	return c.writeRaw(appendFrame(buf, op, true, masked, key, payload))
}

// errIdle: a connection carried nothing for IdleTimeout.
var errIdle = errors.New("transport: idle")

// readWS delivers the SIP messages of a WebSocket connection, one per
// WebSocket message, and answers pings and the closing handshake. When
// the peer breaks a framing rule, idles or is too slow, a Close frame
// with the status that says why goes out before the connection closes
// (RFC 6455 §7.1.7).
func (c *conn) readWS() {
	code, err := c.readFrames()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		c.l.log.Debug("websocket closed", "transport", c.transport, "remote", c.remote, "code", code, "err", err)
	}
	if code != 0 && c.writeWS(wsOpClose, closePayload(code)) == nil {
		// RFC 6455 §7.1.1: the server closes the TCP connection first;
		// we do, after giving the peer time to read our Close.
		c.linger()
	}
}

// readFrames is readWS's loop. It returns the status of the Close frame
// to send, or 0 for none.
func (c *conn) readFrames() (closeCode uint16, err error) {
	l := c.l
	br := c.ws.br
	r := wsReader{r: br, masked: c.accepted, max: l.cfg.MaxMessageSize}
	src := Source{Transport: c.transport, Remote: c.remote, Local: c.local, via: c}
	lastRead := time.Now()
	for {
		if !r.partial() {
			// Between messages: wait for a frame until IdleTimeout
			// after the last traffic; from the frame's first byte
			// ReadTimeout bounds the message, fragments and all.
			if err := c.nc.SetReadDeadline(c.idleDeadline(lastRead)); err != nil {
				return 0, err
			}
			if _, err := br.Peek(1); err != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					return 0, err
				}
				if time.Now().Before(c.idleDeadline(lastRead)) {
					continue // writes kept the connection busy
				}
				return wsCloseGoingAway, errIdle
			}
			if err := c.nc.SetReadDeadline(time.Now().Add(l.cfg.ReadTimeout)); err != nil {
				return 0, err
			}
		}
		op, p, err := r.next()
		if err != nil {
			var we *wsError
			var ne net.Error
			switch {
			case errors.As(err, &we):
				return we.code, err
			case errors.As(err, &ne) && ne.Timeout():
				return wsClosePolicy, err // a message took longer than ReadTimeout
			}
			return 0, err
		}
		lastRead = time.Now()
		switch op {
		case wsOpPing:
			// RFC 6455 §5.5.2: a Pong with the Ping's payload.
			if err := c.writeWS(wsOpPong, p); err != nil {
				return 0, err
			}
		case wsOpPong:
			// §5.5.3: a Pong may come unasked; it needs no answer.
		case wsOpClose:
			code, err := parseClose(p)
			if err != nil {
				return err.(*wsError).code, err
			}
			// §5.5.1: answer a Close with a Close, echoing its status;
			// then close the TCP connection (the server first, §7.1.1).
			var echo []byte
			if code != 0 {
				echo = closePayload(code)
			}
			c.writeWS(wsOpClose, echo)
			return 0, nil
		default:
			if onlyCRLF(p) {
				// RFC 7118 §6: RFC 5626 CRLF keep-alives work over
				// WebSocket too; a CRLFCRLF ping gets a CRLF pong.
				if len(p) == 4 && c.writeWS(wsOpText, []byte(pong)) != nil {
					return 0, net.ErrClosed
				}
				continue
			}
			// RFC 7118 §5: the WebSocket message delimits the SIP
			// message, so it parses as a datagram does: Content-Length
			// is optional.
			l.receive(p, src, false)
		}
	}
}

// isWS reports whether a transport is WebSocket, plain or secure.
func isWS(transport string) bool { return transport == WS || transport == WSS }

// isTLS reports whether a transport runs over TLS.
func isTLS(transport string) bool { return transport == TLS || transport == WSS }

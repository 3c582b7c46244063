package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/media"
	"github.com/sipd/sipd/storage/sqlite"
)

// This file is a harness for black-box tests against baresip (Debian 12:
// baresip-core 1.0.0 on libre 1.1.0), run headless:
//
//   - SIP on a UDP port of 127.0.0.1 (sip_listen, net_interface) and one
//     account, sip:user@domain, made with the uanew command once the
//     harness is connected to ctrl_tcp, so that no event of its
//     registration is missed. It registers to sipd, directly (domain is
//     sipd's address) or through sipd as outbound proxy (domain
//     example.com, which is then never resolved). DNS goes to a trap
//     socket (dnsTrap) where a test can check that nothing arrived.
//   - Control over ctrl_tcp: JSON in netstrings on a 127.0.0.1 TCP port.
//     A command is {"command":"dial","params":"sip:bob@example.com",
//     "token":"1"}, answered by {"response":true,"ok":true,"data":"...",
//     "token":"1"}; the commands are the menu module's: dial <uri>, accept,
//     hangup, hold, resume, callstat, uanew <account>, ... Every UA event
//     comes as {"event":true,"type":"CALL_ESTABLISHED","class":"call",
//     "accountaor":...,"direction":...,"peeruri":...,"id":<Call-ID>,
//     "param":...}. Seen: REGISTERING, REGISTER_OK (param "200 OK"),
//     REGISTER_FAIL ("401 Unauthorized" ...), CALL_INCOMING, CALL_RINGING,
//     CALL_LOCAL_SDP and CALL_REMOTE_SDP (param "offer" or "answer", also
//     for re-INVITEs: the only sign of a hold in 1.0.0), CALL_ESTABLISHED,
//     CALL_RTPESTAB, CALL_RTCP, CALL_CLOSED (param the reason, such as
//     "Connection reset by peer" after a BYE).
//   - Audio without a sound card: the source is ausine, a sine tone at
//     baresipOptions.toneHz (ausine needs 48 kHz stereo; baresip
//     resamples it to the codec's 8 kHz mono); the only codec is PCMU
//     (g711). The player is aubridge, a device that only plays when a
//     source of the same name exists, and none does, so it discards what
//     it gets. When record is set, the sndfile filter writes what baresip
//     sends (encode) and what it receives (decode, before the player) as
//     8 kHz mono WAV files under recordDir, dump-<date-time>-enc.wav and
//     -dec.wav, one pair per call, complete once the call has closed.
//     In 1.0.0 the decode recording stops at the call's first re-INVITE,
//     although RTP still comes (rtp_stats counts it); the encode one goes
//     on. rtp_stats is on: baresip prints its packet counts when a call
//     ends (rtpStats).
//   - With sipTrace (-s), baresip prints every SIP message it sends or
//     receives; sipMessages parses them out of its output.
//
// The test helpers that fail (mustCommand, mustEvent) must be called from
// the goroutine of the test that started the UA.

// baresipOptions is what startBaresipUA needs to know.
type baresipOptions struct {
	user, password string         // the account: sip:user@domain
	domain         string         // "example.com" when empty
	sipd           netip.AddrPort // sipd's UDP listener
	outbound       bool           // sipd is the outbound proxy (a Route on every request)
	dnsTrap        netip.AddrPort // where DNS queries go
	regint         int            // registration interval in s; 0 means 60
	answerMode     string         // "manual" (default) or "auto"
	toneHz         int            // ausine's frequency; 0 means 1000
	record         bool           // the sndfile filter records both directions
	sipTrace       bool           // -s: print every SIP message
}

// baresipUA is a running baresip with its own configuration directory.
type baresipUA struct {
	t         testing.TB
	cmd       *exec.Cmd
	aor       string         // sip:user@domain
	port      int            // its SIP UDP port on 127.0.0.1
	ctrl      netip.AddrPort // its ctrl_tcp socket
	dir       string         // its configuration directory
	recordDir string         // where sndfile writes, when record is set

	mu      sync.Mutex
	lines   []string // its output so far, colors stripped
	events  []baresipEvent
	cursor  int                             // events before it were consumed by waitEvent
	replies map[string]chan baresipResponse // by token
	token   int
	more    chan struct{} // closed and replaced when a line or an event comes
	done    chan struct{} // closed when it has exited and its output ended
	conn    net.Conn      // the ctrl_tcp connection
	ctrlEnd chan struct{} // closed when the ctrl_tcp reader stops
}

// baresipEvent is one ctrl_tcp event.
type baresipEvent struct {
	Type       string `json:"type"`  // REGISTER_OK, CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED, ...
	Class      string `json:"class"` // register, call, ...
	AccountAOR string `json:"accountaor"`
	Direction  string `json:"direction"` // incoming or outgoing (call events)
	PeerURI    string `json:"peeruri"`
	ID         string `json:"id"` // the call's Call-ID
	Param      string `json:"param"`
}

func (e baresipEvent) String() string {
	return fmt.Sprintf("%s %s id=%s peer=%s param=%q", e.Type, e.Direction, e.ID, e.PeerURI, e.Param)
}

// baresipResponse is ctrl_tcp's answer to a command.
type baresipResponse struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// startBaresipUA runs baresip with a configuration made from o, connects
// to its ctrl_tcp socket and returns. It does not wait for registration:
// waitEvent(…, "REGISTER_OK") does. Cleanup kills it and, when the test
// failed, logs its output and its events.
func startBaresipUA(t *testing.T, o baresipOptions) *baresipUA {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatal("baresip not found: ./test.sh installs it (Debian package baresip-core)")
	}
	if o.domain == "" {
		o.domain = "example.com"
	}
	if o.regint == 0 {
		o.regint = 60
	}
	if o.answerMode == "" {
		o.answerMode = "manual"
	}
	if o.toneHz == 0 {
		o.toneHz = 1000
	}
	dir := t.TempDir()
	// A TCP port for ctrl_tcp (ports_test.go).
	ctrl := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(freeTCPPort(t)))
	b := &baresipUA{
		t:       t,
		aor:     "sip:" + o.user + "@" + o.domain,
		port:    freeUDPPort(t),
		ctrl:    ctrl,
		dir:     dir,
		replies: map[string]chan baresipResponse{},
		more:    make(chan struct{}),
		done:    make(chan struct{}),
		ctrlEnd: make(chan struct{}),
	}
	config := "sip_listen 127.0.0.1:" + strconv.Itoa(b.port) + "\n" +
		"net_interface 127.0.0.1\n" +
		"dns_server " + o.dnsTrap.String() + "\n" +
		"module_path /usr/lib/baresip/modules\n" +
		"module g711.so\n" +
		"module ausine.so\n" +
		"module aubridge.so\n" +
		"module_app menu.so\n" +
		"module_app ctrl_tcp.so\n" +
		"ctrl_tcp_listen " + b.ctrl.String() + "\n" +
		"statmode_default off\n" +
		"audio_source ausine," + strconv.Itoa(o.toneHz) + "\n" +
		"audio_player aubridge,discard\n" +
		"audio_alert aubridge,discard\n" +
		"ausrc_srate 48000\n" +
		"ausrc_channels 2\n" +
		"rtp_stats yes\n" +
		// RTP ports below those ports_test.go hands out (baresip's
		// default range, 1024-49152, covers them).
		"rtp_ports 10000-19998\n"
	if o.record {
		b.recordDir = filepath.Join(dir, "record")
		if err := os.Mkdir(b.recordDir, 0o700); err != nil {
			t.Fatal(err)
		}
		config += "module sndfile.so\n" + "snd_path " + b.recordDir + "\n"
	}
	account := "<" + b.aor + ";transport=udp>;auth_pass=" + o.password
	if o.outbound {
		account += ";outbound=\"sip:" + o.sipd.String() + ";transport=udp\""
	}
	account += ";regint=" + strconv.Itoa(o.regint) + ";answermode=" + o.answerMode + ";audio_codecs=PCMU"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -t: baresip quits by itself after 60 s, should the test binary die
	// before its cleanup kills it.
	args := []string{"-f", dir, "-t", "60"}
	if o.sipTrace {
		args = append(args, "-s")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = w, w // stdin is /dev/null, and no module reads it
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	b.cmd = cmd
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			b.mu.Lock()
			b.lines = append(b.lines, strings.TrimSuffix(stripColors(sc.Text()), "\r"))
			b.notifyLocked()
			b.mu.Unlock()
		}
		io.Copy(io.Discard, r)
		r.Close()
		cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-b.done
		b.mu.Lock()
		conn := b.conn
		b.mu.Unlock()
		if conn != nil {
			conn.Close()
			<-b.ctrlEnd
		}
		if t.Failed() {
			t.Logf("baresip %s output:\n%s", b.aor, b.output())
			t.Logf("baresip %s events:\n%s", b.aor, b.eventLog())
		}
	})
	if err := b.connect(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	b.mustCommand("uanew", account)
	return b
}

// notifyLocked wakes the waiters; b.mu is held.
func (b *baresipUA) notifyLocked() {
	close(b.more)
	b.more = make(chan struct{})
}

// connect dials the ctrl_tcp socket until it answers, baresip exits or
// the time is up, and starts reading it.
func (b *baresipUA) connect(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		conn, err := net.DialTimeout("tcp", b.ctrl.String(), time.Second)
		if err == nil {
			b.mu.Lock()
			b.conn = conn
			b.mu.Unlock()
			go b.readCtrl(conn)
			return nil
		}
		select {
		case <-b.done:
			return fmt.Errorf("baresip %s exited before its ctrl_tcp socket answered", b.aor)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("baresip %s: no ctrl_tcp socket on %s within %v: %v", b.aor, b.ctrl, within, err)
		}
	}
}

// readCtrl reads netstrings ("<length>:<json>,") from ctrl_tcp and files
// them as events or responses.
func (b *baresipUA) readCtrl(conn net.Conn) {
	defer close(b.ctrlEnd)
	br := bufio.NewReader(conn)
	for {
		msg, err := readNetstring(br)
		if err != nil {
			return
		}
		var m struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
		}
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		b.mu.Lock()
		switch {
		case m.Event:
			var e baresipEvent
			if json.Unmarshal(msg, &e) == nil {
				b.events = append(b.events, e)
				b.notifyLocked()
			}
		case m.Response:
			var r baresipResponse
			if json.Unmarshal(msg, &r) == nil {
				if c := b.replies[r.Token]; c != nil {
					c <- r
					delete(b.replies, r.Token)
				}
			}
		}
		b.mu.Unlock()
	}
}

// readNetstring reads one netstring (at most 1 MiB).
func readNetstring(br *bufio.Reader) ([]byte, error) {
	head, err := br.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("netstring without its comma")
	}
	return buf[:n], nil
}

// command sends a ctrl_tcp command (a menu command name such as dial,
// accept, hold, resume or hangup, with its parameters) and returns the
// response's data; a response with ok false is an error.
func (b *baresipUA) command(name, params string) (string, error) {
	b.mu.Lock()
	b.token++
	token := strconv.Itoa(b.token)
	reply := make(chan baresipResponse, 1)
	b.replies[token] = reply
	conn := b.conn
	b.mu.Unlock()
	msg, err := json.Marshal(map[string]string{"command": name, "params": params, "token": token})
	if err != nil {
		return "", err
	}
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(strconv.Itoa(len(msg)) + ":" + string(msg) + ",")); err != nil {
		return "", fmt.Errorf("baresip %s: %s: %w", b.aor, name, err)
	}
	select {
	case r := <-reply:
		if !r.OK {
			return r.Data, fmt.Errorf("baresip %s: %s %s: failed: %s", b.aor, name, params, r.Data)
		}
		return r.Data, nil
	case <-b.ctrlEnd:
		return "", fmt.Errorf("baresip %s: %s: ctrl_tcp closed", b.aor, name)
	case <-time.After(10 * time.Second):
		return "", fmt.Errorf("baresip %s: no response to %s within 10 s", b.aor, name)
	}
}

// mustCommand is command that fails the test on error.
func (b *baresipUA) mustCommand(name, params string) string {
	b.t.Helper()
	data, err := b.command(name, params)
	if err != nil {
		b.t.Fatal(err)
	}
	return data
}

// waitEvent waits for the next event of type typ after the ones consumed
// so far, consumes it (and those before it) and returns it. Events in
// stop end the wait with an error when they come first (CALL_CLOSED while
// waiting for CALL_ESTABLISHED, say).
func (b *baresipUA) waitEvent(within time.Duration, typ string, stop ...string) (baresipEvent, error) {
	deadline := time.After(within)
	for {
		b.mu.Lock()
		for i := b.cursor; i < len(b.events); i++ {
			e := b.events[i]
			if e.Type == typ {
				b.cursor = i + 1
				b.mu.Unlock()
				return e, nil
			}
			for _, s := range stop {
				if e.Type == s {
					b.cursor = i + 1
					b.mu.Unlock()
					return e, fmt.Errorf("baresip %s: %v while waiting for %s", b.aor, e, typ)
				}
			}
		}
		more := b.more
		b.mu.Unlock()
		select {
		case <-more:
		case <-b.done:
			return baresipEvent{}, fmt.Errorf("baresip %s exited while waiting for %s", b.aor, typ)
		case <-deadline:
			return baresipEvent{}, fmt.Errorf("baresip %s: no %s within %v", b.aor, typ, within)
		}
	}
}

// mustEvent is waitEvent that fails the test on error.
func (b *baresipUA) mustEvent(within time.Duration, typ string, stop ...string) baresipEvent {
	b.t.Helper()
	e, err := b.waitEvent(within, typ, stop...)
	if err != nil {
		b.t.Fatal(err)
	}
	return e
}

// allEvents returns every event so far.
func (b *baresipUA) allEvents() []baresipEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]baresipEvent(nil), b.events...)
}

func (b *baresipUA) eventLog() string {
	var s strings.Builder
	for _, e := range b.allEvents() {
		s.WriteString(e.String() + "\n")
	}
	return s.String()
}

// waitLine waits until baresip has written a line holding each of subs.
func (b *baresipUA) waitLine(within time.Duration, subs ...string) error {
	deadline := time.After(within)
	for {
		_, ok, more := b.find(subs...)
		if ok {
			return nil
		}
		select {
		case <-more:
		case <-b.done:
			if _, ok, _ := b.find(subs...); ok {
				return nil
			}
			return fmt.Errorf("baresip %s exited without a line with %q", b.aor, subs)
		case <-deadline:
			return fmt.Errorf("baresip %s: no line with %q within %v", b.aor, subs, within)
		}
	}
}

// find returns the first line so far holding each of subs, and a channel
// closed when the next line comes.
func (b *baresipUA) find(subs ...string) (line string, ok bool, more <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
lines:
	for _, l := range b.lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue lines
			}
		}
		return l, true, b.more
	}
	return "", false, b.more
}

func (b *baresipUA) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// rtpStats waits for the RTP counts baresip prints when a call ends
// (rtp_stats) and returns the audio packets it sent and received.
func (b *baresipUA) rtpStats(within time.Duration) (sent, received int, err error) {
	if err := b.waitLine(within, "packets:"); err != nil {
		return 0, 0, err
	}
	line, _, _ := b.find("packets:")
	f := strings.Fields(line)
	if len(f) != 3 {
		return 0, 0, fmt.Errorf("baresip %s: RTP counts %q", b.aor, line)
	}
	if sent, err = strconv.Atoi(f[1]); err == nil {
		received, err = strconv.Atoi(f[2])
	}
	return sent, received, err
}

// tracedSIP is one SIP message from baresip's trace (-s).
type tracedSIP struct {
	received bool   // true when baresip received it, false when it sent it
	peer     string // the other side's address, host:port
	text     string // the message, lines joined with "\n"
}

// startLine is the message's first line.
func (m tracedSIP) startLine() string {
	line, _, _ := strings.Cut(m.text, "\n")
	return line
}

// headers returns the values of the header field name (case-insensitive,
// compact forms not expanded) in order.
func (m tracedSIP) headers(name string) []string {
	var vs []string
	head, _, _ := strings.Cut(m.text, "\n\n")
	for _, l := range strings.Split(head, "\n")[1:] {
		n, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(n), name) {
			vs = append(vs, strings.TrimSpace(v))
		}
	}
	return vs
}

// body is the message body.
func (m tracedSIP) body() string {
	_, body, _ := strings.Cut(m.text, "\n\n")
	return body
}

// sipMessages parses the SIP trace out of baresip's output: libre prints
// each message as a line "#", a line "<transport>|<src> -> <dst>" (UDP
// 127.0.0.1:5060 -> 127.0.0.1:5061, say) and the message.
func (b *baresipUA) sipMessages() []tracedSIP {
	b.mu.Lock()
	lines := append([]string(nil), b.lines...)
	b.mu.Unlock()
	local := "127.0.0.1:" + strconv.Itoa(b.port)
	var msgs []tracedSIP
	for i := 0; i < len(lines); i++ {
		if lines[i] != "#" || i+2 >= len(lines) {
			continue
		}
		f := strings.Fields(lines[i+1])
		if len(f) < 3 || f[len(f)-2] != "->" {
			continue
		}
		src, dst := f[len(f)-3], f[len(f)-1]
		m := tracedSIP{received: dst == local, peer: dst}
		if m.received {
			m.peer = src
		}
		// The message runs to the next trace header or to the first
		// line after its body that is not part of it: the body's length
		// comes from Content-Length.
		j := i + 2
		var text []string
		for ; j < len(lines) && lines[j] != ""; j++ {
			text = append(text, lines[j])
		}
		m.text = strings.Join(text, "\n")
		if n, _ := strconv.Atoi(firstOr(m.headers("Content-Length"), firstOr(m.headers("l"), "0"))); n > 0 {
			var body []string
			got := 0
			for j++; j < len(lines) && got < n; j++ {
				body = append(body, lines[j])
				got += len(lines[j]) + 2
			}
			m.text += "\n\n" + strings.Join(body, "\n")
		}
		msgs = append(msgs, m)
		i = j - 1
	}
	return msgs
}

// waitSIP waits until baresip's trace holds a message for which match
// is true and returns the first such. The trace comes on baresip's
// output, which may lag behind its ctrl_tcp events.
func (b *baresipUA) waitSIP(within time.Duration, what string, match func(m tracedSIP) bool) (tracedSIP, error) {
	deadline := time.After(within)
	for {
		b.mu.Lock()
		more := b.more
		b.mu.Unlock()
		for _, m := range b.sipMessages() {
			if match(m) {
				return m, nil
			}
		}
		select {
		case <-more:
		case <-b.done:
			return tracedSIP{}, fmt.Errorf("baresip %s exited before its trace showed %s", b.aor, what)
		case <-deadline:
			return tracedSIP{}, fmt.Errorf("baresip %s: its trace shows no %s within %v", b.aor, what, within)
		}
	}
}

func firstOr(vs []string, def string) string {
	if len(vs) == 0 {
		return def
	}
	return vs[0]
}

// recording reads the WAV file sndfile wrote for the direction dir
// ("enc": what baresip sent, "dec": what it received) of its only call,
// waiting up to within for the file to be complete (sndfile fills in
// the sizes when the call's audio stream is closed).
func (b *baresipUA) recording(within time.Duration, dir string) (samples []int16, rate int, err error) {
	if b.recordDir == "" {
		return nil, 0, errors.New("baresip started without record")
	}
	deadline := time.Now().Add(within)
	for {
		samples, rate, err = b.readRecording(dir)
		if err == nil || time.Now().After(deadline) {
			return samples, rate, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRecorded waits, during a call, until sndfile has written at least
// d of audio in the direction dir ("enc" or "dec"), judging by the size of
// the file: 8 kHz, 16-bit mono after a 44-byte header.
func (b *baresipUA) waitRecorded(within time.Duration, dir string, d time.Duration) error {
	want := int64(44 + 2*8000*d/time.Second)
	deadline := time.Now().Add(within)
	var got int64
	for {
		files, _ := filepath.Glob(filepath.Join(b.recordDir, "dump-*-"+dir+".wav"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Size() > got {
				got = fi.Size()
			}
		}
		if got >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("baresip %s: %d bytes of %s audio recorded within %v, want %d (%v)", b.aor, got, dir, within, want, d)
		}
		select {
		case <-b.done:
			return fmt.Errorf("baresip %s exited while recording", b.aor)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *baresipUA) readRecording(dir string) ([]int16, int, error) {
	files, _ := filepath.Glob(filepath.Join(b.recordDir, "dump-*-"+dir+".wav"))
	if len(files) != 1 {
		return nil, 0, fmt.Errorf("baresip %s: %d %s recordings in %s, want one", b.aor, len(files), dir, b.recordDir)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return nil, 0, err
	}
	return readWAVComplete(data)
}

// stripColors drops the ANSI color sequences baresip writes warnings with.
func stripColors(s string) string {
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], 'm')
		if j < 0 {
			return s[:i]
		}
		s = s[:i] + s[i+j+1:]
	}
}

// dnsTrap is a UDP socket on loopback given to baresip as its DNS server;
// it counts the datagrams that reach it.
type dnsTrap struct {
	conn net.PacketConn
	mu   sync.Mutex
	got  int
}

func newDNSTrap(t *testing.T) *dnsTrap {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsTrap{conn: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
			d.mu.Lock()
			d.got++
			d.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return d
}

func (d *dnsTrap) addr() netip.AddrPort {
	return d.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (d *dnsTrap) queries() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got
}

// addNamedUsers writes accounts name@domain with the given passwords into
// the data directory's store, as `sipd user add` does, before the server
// starts.
func addNamedUsers(t *testing.T, dataDir, domain string, passwords map[string]string) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "sipd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for name, pw := range passwords {
		if err := store.Users().Put(context.Background(), auth.NewUser(name, domain, pw)); err != nil {
			t.Fatal(err)
		}
	}
}

// readWAVComplete reads a WAV file that sndfile has finished: libsndfile
// writes the header with empty sizes first and the real ones on close.
func readWAVComplete(data []byte) ([]int16, int, error) {
	samples, rate, err := media.ReadWAV(bytes.NewReader(data))
	if err != nil {
		return nil, 0, err
	}
	if len(samples) == 0 {
		return nil, 0, errors.New("recording still empty")
	}
	return samples, rate, nil
}

package test

import (
	"bytes"
	"encoding/csv"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// uas is the smallest UAS the transport and transaction layers allow: it
// answers INVITE with 180 after 300 ms and 200 after 400 ms (leaving the
// 100 Trying to the server transaction, RFC 3261 §17.2.1), retransmits the
// 200 until the ACK comes (§13.3.1.4), and counts what it saw.
type uas struct {
	t1 time.Duration

	mu      sync.Mutex
	calls   int // To tags are "uas" and this count
	tags    map[string]string
	invites map[string]int    // INVITE requests handed to the TU, by Call-ID
	acks    map[string]int    // ACKs for the 2xx, by Call-ID
	oks     map[string]int    // 200 OKs sent, first and retransmissions
	stop    map[string]func() // stops a call's 2xx retransmissions
}

func newUAS() *uas {
	return &uas{t1: 500 * time.Millisecond, tags: map[string]string{}, invites: map[string]int{}, acks: map[string]int{}, oks: map[string]int{}, stop: map[string]func(){}}
}

func (u *uas) HandleRequest(tx *transaction.ServerTx, req *sip.Request) {
	id := req.CallID()
	u.mu.Lock()
	defer u.mu.Unlock()
	switch req.Method {
	case sip.MethodInvite:
		u.invites[id]++
		u.calls++
		tag := "uas" + strconv.Itoa(u.calls)
		u.tags[id] = tag
		time.AfterFunc(300*time.Millisecond, func() {
			r := sip.NewResponse(req, sip.StatusRinging, "")
			r.SetToTag(tag)
			tx.Respond(r)
		})
		time.AfterFunc(400*time.Millisecond, func() { u.answer(tx, req, tag) })
	default:
		tx.Respond(sip.NewResponse(req, sip.StatusNotImplemented, ""))
	}
}

// answer sends the 200 and retransmits it at T1, 2*T1, ... (capped at T2)
// until the ACK arrives or 64*T1 passes (RFC 3261 §13.3.1.4).
func (u *uas) answer(tx *transaction.ServerTx, req *sip.Request, tag string) {
	id := req.CallID()
	ok := sip.NewResponse(req, sip.StatusOK, "")
	ok.SetToTag(tag)
	ok.Add("Contact", "<sip:uas@127.0.0.1>")
	var (
		mu       sync.Mutex
		stopped  bool
		timer    *time.Timer
		interval = u.t1
		deadline = time.Now().Add(64 * u.t1)
	)
	var send func()
	send = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped || time.Now().After(deadline) {
			return
		}
		tx.Respond(ok)
		u.mu.Lock()
		u.oks[id]++
		u.mu.Unlock()
		timer = time.AfterFunc(interval, send)
		interval = min(2*interval, 4*time.Second)
	}
	u.mu.Lock()
	u.stop[id] = func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if timer != nil {
			timer.Stop()
		}
	}
	u.mu.Unlock()
	send()
}

func (u *uas) HandleStray(in *transport.Inbound) {
	req, ok := in.Msg.(*sip.Request)
	if !ok || req.Method != sip.MethodAck {
		return
	}
	id := req.CallID()
	u.mu.Lock()
	u.acks[id]++
	stop := u.stop[id]
	u.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// freeUDPPort finds a loopback UDP port for SIPp to bind.

// TestSIPpInviteRetransmissions: SIPp sends each INVITE twice with the
// same branch; the UAS on our transport and transaction layers must see
// one transaction per call (one INVITE up to the TU, one 100/180/200), the
// 200 retransmitted until the ACK and not after.
func TestSIPpInviteRetransmissions(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: ./test.sh installs it (Debian package sip-tester)")
	}
	u := newUAS()
	var tl *transaction.Layer
	tp := transport.New(transport.Config{}, transport.HandlerFunc(func(in *transport.Inbound) { tl.HandleInbound(in) }))
	tl = transaction.New(tp, transaction.Config{})
	tl.SetCore(u)
	defer tp.Close()
	addr, err := tp.Listen("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	scen, err := os.ReadFile("testdata/sipp/invite_retrans.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "invite_retrans.xml"), scen, 0o644); err != nil {
		t.Fatal(err)
	}
	const calls = 3
	cmd := exec.Command(sipp, netip.AddrPortFrom(addr.Addr(), addr.Port()).String(),
		"-sf", "invite_retrans.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		"-m", strconv.Itoa(calls), "-l", strconv.Itoa(calls), "-r", "10",
		"-nr", "-timeout", "30s", "-timeout_error", "-trace_counts", "-trace_err", "-nostdin")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	if runErr != nil {
		errs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
		for _, e := range errs {
			b, _ := os.ReadFile(e)
			t.Logf("%s:\n%s", e, b)
		}
		t.Fatalf("sipp failed: %v\n%s", runErr, tail(out.String(), 3000))
	}

	// What SIPp received: one 100, one 180, the 200 and its two
	// retransmissions (before the ACK; none after, or the call would have
	// failed on an unexpected message).
	counts := readCounts(t, dir)
	for key, want := range map[string]int{
		"0_INVITE_Sent": calls, "1_INVITE_Sent": calls,
		"2_100_Recv": calls, "3_180_Recv": calls,
		"4_200_Recv": calls, "5_200_Recv": calls, "6_200_Recv": calls,
		"2_100_Unexp": 0, "3_180_Unexp": 0, "4_200_Unexp": 0,
		"7_ACK_Sent": calls, "8_Pause_Unexp": 0,
	} {
		if got, ok := counts[key]; !ok || got != want {
			t.Errorf("sipp %s = %d (present %v), want %d; counts: %v", key, got, ok, want, counts)
		}
	}

	// What the UAS saw: one transaction per call.
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.invites) != calls {
		t.Errorf("UAS saw %d calls, want %d", len(u.invites), calls)
	}
	for id, n := range u.invites {
		if n != 1 {
			t.Errorf("call %s: TU got %d INVITEs, want 1 (retransmission not absorbed)", id, n)
		}
		if u.acks[id] != 1 {
			t.Errorf("call %s: %d ACKs, want 1", id, u.acks[id])
		}
		if u.oks[id] != 3 {
			t.Errorf("call %s: 200 sent %d times, want 3", id, u.oks[id])
		}
	}
}

// readCounts reads the last row of SIPp's -trace_counts file into a map
// from column name (like "5_200_Retrans") to value.
func readCounts(t *testing.T, dir string) map[string]int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*_counts.csv"))
	if len(files) != 1 {
		t.Fatalf("want one counts file, found %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("counts file: %v\n%s", err, data)
	}
	head, last := rows[0], rows[len(rows)-1]
	m := map[string]int{}
	for i, name := range head {
		if i < len(last) {
			if n, err := strconv.Atoi(strings.TrimSpace(last[i])); err == nil {
				m[strings.TrimSpace(name)] = n
			}
		}
	}
	return m
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitUDPBound waits until something holds 127.0.0.1:port/udp. SIPp has no
// readiness signal, but a UAS is ready once it can receive.
func waitUDPBound(t *testing.T, port string, within time.Duration) {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(within); !udpPortBound(p); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing bound 127.0.0.1:%s/udp within %v", port, within)
		}
	}
}

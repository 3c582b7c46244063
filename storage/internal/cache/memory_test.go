package cache

import (
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/sipd/sipd/location"
)

// message stands for the REGISTER a binding was written from: the sip
// parser's strings are views of one copy of the datagram, as are the
// Call-ID and User-Agent the registrar puts in a binding.
func message(i int) string {
	n := strconv.Itoa(i)
	return "REGISTER sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-" + n + ";rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:user" + n + "@example.com>;tag=" + n + "\r\n" +
		"To: <sip:user" + n + "@example.com>\r\nCall-ID: " + n + "-reg@192.0.2.10\r\n" +
		"CSeq: 1 REGISTER\r\nContact: <sip:user" + n + "@192.0.2.10:5062>\r\n" +
		"Expires: 3600\r\nUser-Agent: SIPp/Linux\r\nContent-Length: 0\r\n\r\n"
}

// registered returns the binding the registrar writes for message m of
// user i: the Call-ID and User-Agent are views of m, the rest built.
func registered(i int, m string, now time.Time) location.Binding {
	view := func(prefix string) string {
		k := indexOf(m, prefix) + len(prefix)
		e := k + indexOf(m[k:], "\r\n")
		return m[k:e]
	}
	n := strconv.Itoa(i)
	return location.Binding{
		AOR:       "sip:user" + n + "@example.com",
		Contact:   "sip:user" + n + "@192.0.2.10:5062",
		Q:         1000,
		Expires:   now.Add(time.Hour),
		CallID:    view("Call-ID: "),
		CSeq:      1,
		Transport: "UDP",
		Source:    netip.MustParseAddrPort("192.0.2.10:5062"),
		Local:     netip.MustParseAddrPort("192.0.2.1:5060"),
		UserAgent: view("User-Agent: "),
		Updated:   now,
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// bytesPerBinding stores n registrations, one binding per AOR, as the
// sqlite store does (Prepare, then Set), and returns the heap they keep
// per binding: the index's share of the memory per registration.
func bytesPerBinding(n int) float64 {
	now := time.Now()
	before := heapAlloc()
	c := New(0)
	for i := range n {
		m := message(i)
		b := registered(i, m, now)
		c.Set(b.AOR, Prepare(b.AOR, []location.Binding{b}))
	}
	after := heapAlloc()
	runtime.KeepAlive(c)
	return float64(after-before) / float64(n)
}

// BenchmarkBindingMemory reports the heap the index keeps per binding
// with 100,000 AORs of one binding each (bytes/binding).
func BenchmarkBindingMemory(b *testing.B) {
	var per float64
	for b.Loop() {
		per = bytesPerBinding(100_000)
	}
	b.ReportMetric(per, "bytes/binding")
	b.ReportMetric(float64(unsafe.Sizeof(location.Binding{})), "struct-bytes")
}

// TestBindingMemory keeps the index's memory per binding under 1 KB, the
// order of Kamailio's per contact.
func TestBindingMemory(t *testing.T) {
	if per := bytesPerBinding(20_000); per > 1024 {
		t.Errorf("%.0f bytes per binding, want at most 1024", per)
	}
}

// TestSetKeepsCopy: the index keeps its own copy of a binding, in one
// record: not the REGISTER its strings were views of, not the caller's
// Path slice. What it hands back equals what was set, with the transport
// a shared constant, and is the caller's to change.
func TestSetKeepsCopy(t *testing.T) {
	now := time.Now()
	m := message(7)
	b := registered(7, m, now)
	b.Params = ";+sip.instance=\"<urn:uuid:1>\""
	b.Path = []string{"<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"}
	b.Transport = string([]byte("UDP"))
	const aor = "sip:user7@example.com"
	c := New(1)
	c.Set(aor, Prepare(aor, []location.Binding{b}))
	b.Path[0] = "changed"
	got := c.Lookup(aor, now)
	if len(got) != 1 {
		t.Fatalf("Lookup returned %d bindings", len(got))
	}
	g := got[0]
	if g.Contact != b.Contact || g.Params != b.Params || g.CallID != b.CallID || g.UserAgent != b.UserAgent ||
		len(g.Path) != 2 || g.Path[0] != "<sip:p1.example.net;lr>" || g.Path[1] != b.Path[1] || g.Transport != "UDP" ||
		g.AOR != aor || !g.Expires.Equal(b.Expires) || !g.Updated.Equal(b.Updated) || g.Source != b.Source ||
		g.Local != b.Local || g.Q != b.Q || g.CSeq != b.CSeq {
		t.Fatalf("the index changed the binding:\n%+v\nwant\n%+v", g, b)
	}
	in := func(s, buf string) bool {
		p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(buf)))
		return p >= lo && p < lo+uintptr(len(buf))
	}
	if in(g.CallID, m) || in(g.UserAgent, m) {
		t.Error("the stored binding keeps the message alive")
	}
	if unsafe.StringData(g.Transport) != unsafe.StringData("UDP") {
		t.Error("transport not shared")
	}
	// One record: every string lies in the one the index holds.
	e, _ := c.get(aor)
	for i, s := range []string{g.Contact, g.Params, g.CallID, g.UserAgent, g.Path[0], g.Path[1]} {
		if !in(s, e.rec) {
			t.Errorf("string %d is not a view of the record", i)
		}
	}
	g.Path[1] = "mine"
	if again := c.Lookup(aor, now); again[0].Path[1] != b.Path[1] {
		t.Error("a caller's change reached the index")
	}
}

// TestSetRecord: a record the caller encoded is kept as it is, and reads
// back as Set would have stored the bindings; LookupStored tells an AOR
// whose bindings all expired from one with none.
func TestSetRecord(t *testing.T) {
	now := time.Now()
	b := registered(3, message(3), now)
	const aor = "sip:user3@example.com"
	bs := Prepare(aor, []location.Binding{b})
	rec := string(AppendBindings(nil, bs))
	c := New(1)
	c.SetRecord(aor, rec, bs)
	if e, _ := c.get(aor); unsafe.StringData(e.rec) != unsafe.StringData(rec) {
		t.Error("the record was copied or re-encoded")
	}
	d := New(1)
	d.Set(aor, bs)
	got, want := c.Stored(aor), d.Stored(aor)
	if len(got) != 1 || len(want) != 1 || got[0].Contact != want[0].Contact || !got[0].Expires.Equal(want[0].Expires) {
		t.Fatalf("SetRecord stored %+v, Set %+v", got, want)
	}
	if live, ok := c.LookupStored(aor, now.Add(2*time.Hour)); len(live) != 0 || !ok {
		t.Errorf("after expiry: %d live, stored %v; want 0, true", len(live), ok)
	}
	if _, ok := c.LookupStored("sip:nobody@example.com", now); ok {
		t.Error("an unknown AOR is stored")
	}
}

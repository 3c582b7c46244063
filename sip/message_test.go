package sip

import (
	"errors"
	"strings"
	"testing"
	"unsafe"
)

func mustRequest(t testing.TB, s string) *Request {
	t.Helper()
	r, err := ParseRequest([]byte(s))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return r
}

func mustResponse(t testing.TB, s string) *Response {
	t.Helper()
	r, err := ParseResponse([]byte(s))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return r
}

func TestRoundTripUnchanged(t *testing.T) {
	for name, s := range map[string]string{"invite": sampleInvite, "register": sampleRegister, "response": sampleResponse} {
		t.Run(name, func(t *testing.T) {
			m, err := Parse([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.String(); got != s {
				t.Errorf("round trip:\n%s\nwant\n%s", got, s)
			}
		})
	}
}

// TestEdits checks each edit a proxy or UA makes: the result is the
// original with exactly the expected lines changed, and it parses back.
func TestEdits(t *testing.T) {
	tests := []struct {
		name string
		in   string
		edit func(t *testing.T, m Message)
		want string // the expected output
	}{
		{
			name: "push Via",
			in:   sampleRegister,
			edit: func(t *testing.T, m Message) {
				m.Headers().PushVia(Via{Transport: "UDP", Host: "proxy.example.com", Port: 5060, Params: ";branch=z9hG4bKp1"})
			},
			want: strings.Replace(sampleRegister, "Via:", "Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKp1\r\nVia:", 1),
		},
		{
			name: "pop Via from its own line",
			in:   sampleResponse,
			edit: func(t *testing.T, m Message) { m.Headers().PopVia() },
			want: strings.Replace(sampleResponse, "Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3\r\n", "", 1),
		},
		{
			name: "pop Via from a comma list",
			in:   crlf("SIP/2.0 180 Ringing\nv: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/TCP b.example.com;branch=z9hG4bK2\nVia: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\nTo: <sip:b@example.com>;tag=1\nFrom: <sip:a@example.com>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\nContent-Length: 0\n\n"),
			edit: func(t *testing.T, m Message) {
				m.Headers().PopVia()
				v, err := m.Headers().TopVia()
				if err != nil || v.Host != "b.example.com" {
					t.Errorf("top Via after pop = %+v, %v", v, err)
				}
			},
			want: crlf("SIP/2.0 180 Ringing\nv: SIP/2.0/TCP b.example.com;branch=z9hG4bK2\nVia: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\nTo: <sip:b@example.com>;tag=1\nFrom: <sip:a@example.com>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\nContent-Length: 0\n\n"),
		},
		{
			name: "stamp received and rport on the top Via",
			in:   sampleRegister,
			edit: func(t *testing.T, m Message) {
				h := m.Headers()
				v, _ := h.TopVia()
				v.Params = v.Params.Set("received", "198.51.100.7").Set("rport", "31000")
				h.SetTopVia(v)
			},
			want: strings.Replace(sampleRegister, ";rport\r\n", ";rport=31000;received=198.51.100.7\r\n", 1),
		},
		{
			name: "add Record-Route",
			in:   sampleInvite,
			edit: func(t *testing.T, m Message) {
				m.Headers().Prepend("Record-Route", "<sip:p1.example.com;lr>")
			},
			want: strings.Replace(sampleInvite, "Content-Length: 151\r\n", "Content-Length: 151\r\nRecord-Route: <sip:p1.example.com;lr>\r\n", 1),
		},
		{
			name: "change Request-URI",
			in:   sampleInvite,
			edit: func(t *testing.T, m Message) {
				u, err := ParseURI("sip:bob@192.0.2.4:5062;transport=tcp")
				if err != nil {
					t.Fatal(err)
				}
				m.(*Request).URI = u
			},
			want: strings.Replace(sampleInvite, "INVITE sip:bob@biloxi.example.com SIP/2.0", "INVITE sip:bob@192.0.2.4:5062;transport=tcp SIP/2.0", 1),
		},
		{
			name: "decrement Max-Forwards",
			in:   sampleInvite,
			edit: func(t *testing.T, m Message) {
				if n := m.Headers().DecMaxForwards(); n != 69 {
					t.Errorf("DecMaxForwards = %d", n)
				}
			},
			want: strings.Replace(sampleInvite, "Max-Forwards: 70", "Max-Forwards: 69", 1),
		},
		{
			name: "change body keeps Content-Length right",
			in:   sampleInvite,
			edit: func(t *testing.T, m Message) { m.(*Request).Body = []byte("v=0\r\n") },
			want: sampleInvite[:strings.Index(sampleInvite, "Content-Length")] + "Content-Length: 5\r\n\r\nv=0\r\n",
		},
		{
			name: "remove body",
			in:   sampleInvite,
			edit: func(t *testing.T, m Message) {
				m.(*Request).Body = nil
				m.Headers().Del("Content-Type")
			},
			want: sampleInvite[:strings.Index(sampleInvite, "Content-Type")] + "Content-Length: 0\r\n\r\n",
		},
		{
			name: "delete and set headers",
			in:   sampleRegister,
			edit: func(t *testing.T, m Message) {
				h := m.Headers()
				h.Del("User-Agent")
				h.Set("expires", "60")
				h.Add("X-Custom", "1")
			},
			want: strings.Replace(strings.Replace(sampleRegister, "User-Agent: sipd-test/1.0\r\n", "", 1), "Expires: 7200\r\nContent-Length: 0\r\n", "Expires: 60\r\nContent-Length: 0\r\nX-Custom: 1\r\n", 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(t, m)
			got := m.String()
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			m2, err := validate([]byte(got))
			if err != nil {
				t.Fatalf("edited message does not parse back: %v", err)
			}
			if m2.String() != got {
				t.Errorf("re-parse changes it")
			}
		})
	}
}

func TestPushViaOnBuiltRequest(t *testing.T) {
	u, _ := ParseURI("sip:bob@example.com")
	r := NewRequest(MethodOptions, u)
	r.PushVia(Via{Transport: "TCP", Host: "a.example.com", Params: ";branch=z9hG4bK1"})
	r.PushVia(Via{Transport: "UDP", Host: "b.example.com", Params: ";branch=z9hG4bK2"})
	vias, err := r.Vias()
	if err != nil || len(vias) != 2 || vias[0].Host != "b.example.com" {
		t.Fatalf("Vias = %+v, %v", vias, err)
	}
	r.Add("Max-Forwards", "70")
	want := "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\nVia: SIP/2.0/TCP a.example.com;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	eq(t, "built request", r.String(), want)
}

func TestNewResponse(t *testing.T) {
	req := mustRequest(t, crlf(`INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/UDP p2.example.com;branch=z9hG4bK2
v: SIP/2.0/UDP ua.example.com;branch=z9hG4bK3
Record-Route: <sip:p1.example.com;lr>
Max-Forwards: 69
f: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
i: call-1
CSeq: 7 INVITE
Timestamp: 54
Contact: <sip:alice@ua.example.com>
Content-Length: 0

`))
	tests := []struct {
		code      int
		reason    string
		wantLines []string
		notLines  []string
	}{
		{100, "", []string{"SIP/2.0 100 Trying", "Timestamp: 54"}, []string{"Record-Route", "Contact"}},
		{180, "", []string{"SIP/2.0 180 Ringing", "Record-Route: <sip:p1.example.com;lr>"}, []string{"Timestamp", "Max-Forwards"}},
		{486, "Busy Now", []string{"SIP/2.0 486 Busy Now"}, []string{"Record-Route", "Timestamp"}},
	}
	for _, tt := range tests {
		t.Run(StatusText(tt.code), func(t *testing.T) {
			resp := NewResponse(req, tt.code, tt.reason)
			if tt.code > 100 {
				if err := resp.SetToTag("b2"); err != nil {
					t.Fatal(err)
				}
			}
			s := resp.String()
			for _, l := range append(tt.wantLines,
				"Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/UDP p2.example.com;branch=z9hG4bK2\r\nv: SIP/2.0/UDP ua.example.com;branch=z9hG4bK3",
				"f: <sip:alice@example.com>;tag=a1", "i: call-1", "CSeq: 7 INVITE", "Content-Length: 0\r\n\r\n") {
				if !strings.Contains(s, l) {
					t.Errorf("response lacks %q:\n%s", l, s)
				}
			}
			for _, l := range tt.notLines {
				if strings.Contains(s, l) {
					t.Errorf("response has %q:\n%s", l, s)
				}
			}
			back, err := validate([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			wantTag := ""
			if tt.code > 100 {
				wantTag = "b2"
			}
			eq(t, "To tag", back.Headers().ToTag(), wantTag)
			eq(t, "request To tag untouched", req.ToTag(), "")
		})
	}
}

func TestNewCancel(t *testing.T) {
	req := mustRequest(t, crlf(`INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP ua.example.com;branch=z9hG4bKc1, SIP/2.0/UDP other.example.com;branch=z9hG4bK0
Route: <sip:p1.example.com;lr>
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-2
CSeq: 12 INVITE
Require: 100rel
Content-Length: 0

`))
	c, err := NewCancel(req)
	if err != nil {
		t.Fatal(err)
	}
	want := crlf(`CANCEL sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP ua.example.com;branch=z9hG4bKc1
Route: <sip:p1.example.com;lr>
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-2
CSeq: 12 CANCEL
Max-Forwards: 70
Content-Length: 0

`)
	eq(t, "CANCEL", c.String(), want)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		status int
		header string
	}{
		{"empty", "", 400, ""},
		{"only CRLF", "\r\n\r\n", 400, ""},
		{"no header end", "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n", 400, ""},
		{"header without colon", "OPTIONS sip:a@b SIP/2.0\r\nVia\r\n\r\n", 400, ""},
		{"bad header name", "OPTIONS sip:a@b SIP/2.0\r\nV(a: x\r\n\r\n", 400, ""},
		{"bad version", "OPTIONS sip:a@b SIP/2\r\n\r\n", 400, ""},
		{"version 3.0", "OPTIONS sip:a@b SIP/3.0\r\n\r\n", 505, ""},
		{"two-digit code", "SIP/2.0 99 Odd\r\n\r\n", 400, ""},
		{"code 700", "SIP/2.0 700 Odd\r\n\r\n", 400, ""},
		{"bad content-length", "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n", 400, "Content-Length"},
		{"content-length past end", "OPTIONS sip:a@b SIP/2.0\r\nl: 10\r\n\r\nabc", 400, "Content-Length"},
		{"bad Request-URI", "OPTIONS sip:a@b@c SIP/2.0\r\n\r\n", 400, "Request-URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			eq(t, "status", pe.StatusCode(), tt.status)
			eq(t, "header", pe.Header, tt.header)
		})
	}
}

func TestParserLimits(t *testing.T) {
	p := Parser{MaxMessageSize: 200, MaxHeaders: 8}
	if _, err := p.Parse([]byte(sampleInvite)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large message: %v", err)
	}
	eq(t, "513 for a too large message", ErrTooLarge.StatusCode(), 513)
	many := "OPTIONS sip:a@b SIP/2.0\r\n" + strings.Repeat("X: y\r\n", 9) + "\r\n"
	if _, err := p.Parse([]byte(many)); err == nil {
		t.Error("too many headers accepted")
	}
	if _, err := p.ParseStream([]byte("OPTIONS sip:a@b SIP/2.0\r\nX: y\r\n\r\n")); !errors.Is(err, ErrNoContentLength) {
		t.Errorf("stream without Content-Length: %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	base := sampleRegister
	tests := []struct {
		name, from, to string
		status         int
		header         string
	}{
		{"missing Call-ID", "Call-ID: 843817637684230@998sdasdh09\r\n", "", 400, "Call-ID"},
		{"duplicate CSeq", "CSeq: 1826 REGISTER\r\n", "CSeq: 1826 REGISTER\r\nCSeq: 1827 REGISTER\r\n", 400, "CSeq"},
		{"bad Call-ID", "Call-ID: 843817637684230@998sdasdh09", "Call-ID: a b", 400, "Call-ID"},
		{"no Via", "Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport\r\n", "", 400, "Via"},
		{"bad Via port", "bobspc.biloxi.example.com:5060", "bobspc.biloxi.example.com:70000", 400, "Via"},
		{"bad rport", ";rport", ";rport=x", 400, "Via"},
		{"rport zero", ";rport", ";rport=0", 400, "Via"},
		{"bad Route", "Contact:", "Route: <sip:p.example.com;lr\r\nContact:", 400, "Route"},
		{"Max-Forwards 256", "Max-Forwards: 70", "Max-Forwards: 256", 400, "Max-Forwards"},
		{"CSeq method mismatch", "1826 REGISTER", "1826 INVITE", 400, "CSeq"},
		{"bad Contact", "<sip:bob@192.0.2.4>;expires=3600", "<sip:bob@192.0.2.4;expires=3600", 400, "Contact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(base, tt.from, tt.to, 1)
			if in == base {
				t.Fatal("test edit did not apply")
			}
			_, err := validate([]byte(in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			eq(t, "status", pe.StatusCode(), tt.status)
			eq(t, "header", pe.Header, tt.header)
			if !strings.Contains(pe.ReasonPhrase(), tt.header) {
				t.Errorf("reason phrase %q does not name %s", pe.ReasonPhrase(), tt.header)
			}
		})
	}
}

func TestHeaderAccess(t *testing.T) {
	r := mustRequest(t, crlf(`SUBSCRIBE sip:bob@example.com SIP/2.0
Via: SIP/2.0/TCP ua.example.com;branch=z9hG4bKs1;maddr=239.1.1.1;ttl=16;received=2001:db8::1
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: sub-1
CSeq: 3 SUBSCRIBE
o: presence;id=7
Subscription-State: Active;expires=600
Supported: 100rel, Timer
k: path
Allow: INVITE, ACK
Allow: BYE
RSeq: 988789
RAck: 776656 1 INVITE
Replaces: 425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only
x: 1800;refresher=UAC
r: <sip:carol@example.com?Replaces=abc%40d>
Path: <sip:edge1.example.com;lr>, <sip:edge2.example.com;lr>
Expires: 99999999999
Min-Expires: 60
Content-Length: 0

`))
	v, err := r.TopVia()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "maddr", v.MAddr(), "239.1.1.1")
	ttl, ok := v.TTL()
	eq(t, "ttl", ttl, 16)
	eq(t, "ttl present", ok, true)
	eq(t, "received", v.Received(), "2001:db8::1")
	_, ok = v.RPort()
	eq(t, "no rport", ok, false)
	ev, err := r.Event()
	eq(t, "Event err", err, nil)
	eq(t, "Event", ev.Type+"/"+ev.ID(), "presence/7")
	ss, _ := r.SubscriptionState()
	exp, _ := ss.Expires()
	eq(t, "Subscription-State", ss.State, "active")
	eq(t, "Subscription-State expires", exp, uint32(600))
	eq(t, "Supported", strings.Join(r.OptionTags("Supported"), ","), "100rel,Timer,path")
	eq(t, "Supported timer", r.HasOptionTag("Supported", "timer"), true)
	eq(t, "Allow", strings.Join(r.OptionTags("Allow"), ","), "INVITE,ACK,BYE")
	eq(t, "Allow is case-sensitive", r.HasOptionTag("Allow", "bye"), false)
	rseq, _ := r.RSeq()
	eq(t, "RSeq", rseq, uint32(988789))
	rack, _ := r.RAck()
	eq(t, "RAck", rack, RAck{776656, 1, "INVITE"})
	rep, _ := r.Replaces()
	eq(t, "Replaces", rep.CallID+" "+rep.ToTag+" "+rep.FromTag, "425928@bobster.example.org 7743 6472")
	eq(t, "early-only", rep.EarlyOnly, true)
	se, _ := r.SessionExpires()
	eq(t, "Session-Expires", se.Delta, uint32(1800))
	eq(t, "refresher", se.Refresher, "uac")
	rt, err := r.ReferTo()
	eq(t, "Refer-To err", err, nil)
	eq(t, "Refer-To headers", rt.URI.Headers, "Replaces=abc%40d")
	paths, _ := r.Paths()
	eq(t, "Path", len(paths), 2)
	e, ok, err := r.Expires()
	eq(t, "overlarge Expires clamps", e, uint32(1<<32-1))
	eq(t, "Expires ok", ok && err == nil, true)
	me, _, _ := r.MinExpires()
	eq(t, "Min-Expires", me, uint32(60))
	eq(t, "Count Allow", r.Count("allow"), 2)
	eq(t, "canonical", CanonicalName("K"), "Supported")
}

func TestValidateAllocs(t *testing.T) {
	r := mustRequest(t, sampleInvite)
	if n := testing.AllocsPerRun(100, func() {
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Validate allocates %v times", n)
	}
}

// TestValidateKeepsTopVia: Validate, which parses the top Via, keeps it,
// so that TopVia after it parses nothing; the Via kept is the first
// value of the first Via field, and one that does not parse is not kept.
func TestValidateKeepsTopVia(t *testing.T) {
	two := strings.Replace(sampleInvite, "Via: ", "Via: SIP/2.0/TCP top.example.com;branch=z9hG4bKtop, SIP/2.0/UDP second.example.com;branch=z9hG4bK2\r\nVia: ", 1)
	r := mustRequest(t, two)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.cache.have&cachedVia == 0 {
		t.Fatal("Validate did not keep the top Via")
	}
	if n := testing.AllocsPerRun(10, func() {
		v, err := r.TopVia()
		if err != nil || v.Host != "top.example.com" || v.Transport != "TCP" || v.Branch() != "z9hG4bKtop" {
			t.Fatalf("TopVia = %+v, %v", v, err)
		}
	}); n != 0 {
		t.Errorf("TopVia after Validate allocates %v times", n)
	}
	bad := mustRequest(t, strings.Replace(sampleInvite, "Via: SIP/2.0/UDP", "Via: SIP/2.0 UDP", 1))
	if err := bad.Validate(); err == nil {
		t.Fatal("a malformed top Via validated")
	}
	if bad.cache.have&cachedVia != 0 {
		t.Error("a malformed top Via was kept")
	}
	if _, err := bad.TopVia(); err == nil {
		t.Error("TopVia of a malformed Via succeeded")
	}
}

func TestWildcardContact(t *testing.T) {
	r := mustRequest(t, strings.Replace(sampleRegister, "Contact: <sip:bob@192.0.2.4>;expires=3600", "Contact: *", 1))
	cs, err := r.Contacts()
	if err != nil || len(cs) != 1 || !cs[0].Wildcard {
		t.Fatalf("Contacts = %+v, %v", cs, err)
	}
}

func TestKindOf(t *testing.T) {
	for k := hkind(1); k < hCount; k++ {
		info := hinfos[k]
		for _, name := range []string{info.name, strings.ToUpper(info.name), strings.ToLower(info.name)} {
			if got := kindOf(name); got != k {
				t.Errorf("kindOf(%q) = %d, want %d", name, got, k)
			}
		}
		if info.compact != 0 {
			for _, c := range []string{string(info.compact), strings.ToUpper(string(info.compact))} {
				if got := kindOf(c); got != k {
					t.Errorf("kindOf(%q) = %d, want %d", c, got, k)
				}
			}
		}
	}
	for _, name := range []string{"", "W", "Vía", "Viaa", "C%6Fntact", "Contact ", "q", "Z", "Content-Lengt", "\x00"} {
		if got := kindOf(name); got != hUnknown {
			t.Errorf("kindOf(%q) = %d, want unknown", name, got)
		}
	}
}

// TestEachValue: EachValue yields what Values yields (EachLine what Lines does), stops when told,
// and allocates nothing; the typed list getters built on it allocate
// nothing when the field is absent and one slice when it is present.
func TestEachValue(t *testing.T) {
	r := mustRequest(t, strings.Replace(sampleInvite, "Max-Forwards: 70\r\n",
		"Max-Forwards: 70\r\nRoute: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\nRoute: <sip:p3.example.com;lr>\r\n", 1))
	for _, name := range []string{"Route", "Allow", "Via", "Call-ID", "Proxy-Require"} {
		var want, got []string
		for v := range r.Values(name) {
			want = append(want, v)
		}
		r.EachValue(name, func(v string) bool { got = append(got, v); return true })
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("EachValue(%s) = %q, Values gives %q", name, got, want)
		}
	}
	var lines []string
	r.EachLine("Route", func(v string) bool { lines = append(lines, v); return true })
	eq(t, "EachLine", strings.Join(lines, "|"), "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>|<sip:p3.example.com;lr>")
	n := 0
	r.EachValue("Route", func(string) bool { n++; return n < 2 })
	eq(t, "EachValue stops", n, 2)
	if a := testing.AllocsPerRun(100, func() {
		n = 0
		r.EachValue("Allow", func(string) bool { n++; return true })
	}); a != 0 {
		t.Errorf("EachValue allocates %v times", a)
	}
	eq(t, "Allow values", n, 11)
	if a := testing.AllocsPerRun(100, func() {
		if rr, err := r.RecordRoutes(); err != nil || rr != nil {
			t.Fatal(rr, err)
		}
		if tags := r.OptionTags("Proxy-Require"); tags != nil {
			t.Fatal(tags)
		}
		if !r.HasOptionTag("Supported", "TIMER") || r.HasOptionTag("Allow", "invite") {
			t.Fatal("HasOptionTag")
		}
	}); a != 0 {
		t.Errorf("absent list fields allocate %v times", a)
	}
	if a := testing.AllocsPerRun(100, func() {
		if rs, err := r.Routes(); err != nil || len(rs) != 3 || rs[2].URI.Host != "p3.example.com" {
			t.Fatal(rs, err)
		}
	}); a > 3 {
		t.Errorf("Routes allocates %v times, want at most 3 (the slice as it grows)", a)
	}
}

// TestTagCache: the tags of From and To are kept once read, and an edit
// of the header forgets them; From and To give the whole address each
// time. The cache holds tags, not addresses, to keep messages small:
// every proxied call allocates several.
func TestTagCache(t *testing.T) {
	r := mustRequest(t, sampleInvite)
	eq(t, "FromTag", r.FromTag(), "9fxced76sl")
	eq(t, "ToTag", r.ToTag(), "")
	for range 2 {
		from, err := r.From()
		if err != nil || from.Display != "Alice" || from.Tag() != "9fxced76sl" {
			t.Fatalf("From %+v %v", from, err)
		}
	}
	if err := r.SetToTag("abc"); err != nil {
		t.Fatal(err)
	}
	eq(t, "ToTag after SetToTag", r.ToTag(), "abc")
	r.Set("From", "<sip:carol@example.com>;tag=x1")
	eq(t, "FromTag after Set", r.FromTag(), "x1")
	if n := testing.AllocsPerRun(100, func() {
		if r.FromTag() != "x1" || r.ToTag() != "abc" {
			t.Fatal("tags changed")
		}
	}); n != 0 {
		t.Errorf("cached tags: %v allocations", n)
	}
}

// TestMessageSizes guards the size of what every message allocates: the
// message and a HeaderField per line.
func TestMessageSizes(t *testing.T) {
	if size := unsafe.Sizeof(Request{}); size > 576 {
		t.Errorf("Request is %d bytes, over the 576-byte size class", size)
	}
	if size := unsafe.Sizeof(Response{}); size > 320 {
		t.Errorf("Response is %d bytes, over the 320-byte size class", size)
	}
	if size := unsafe.Sizeof(HeaderField{}); size > 40 {
		t.Errorf("HeaderField is %d bytes, want 40", size)
	}
}

// TestRawLinesKept: a field keeps its line as received — compact name,
// spacing, folding — in the message it was parsed in and in a response
// that copies it, and loses it when edited.
func TestRawLinesKept(t *testing.T) {
	in := "INVITE sip:bob@example.com SIP/2.0\r\n" +
		"v:  SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
		"f :<sip:a@example.com>;tag=1\r\n" +
		"t: <sip:bob@example.com>\r\n" +
		"i: c1\r\n" +
		"CSeq:   1   INVITE\r\n" +
		"Subject: a\r\n  folded\r\n" +
		"Content-Length: 0\r\n\r\n"
	r := mustRequest(t, in)
	r.Add("X-New", "1")
	want := strings.Replace(in, "Content-Length: 0\r\n", "Content-Length: 0\r\nX-New: 1\r\n", 1)
	eq(t, "serialized", r.String(), want)
	resp := NewResponse(r, StatusOK, "")
	for _, line := range []string{"v:  SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n", "f :<sip:a@example.com>;tag=1\r\n", "CSeq:   1   INVITE\r\n"} {
		if !strings.Contains(resp.String(), line) {
			t.Errorf("response lost %q:\n%s", line, resp.String())
		}
	}
	r.Set("Subject", "b")
	r.PopFirst("Via")
	if s := r.String(); strings.Contains(s, "folded") || !strings.Contains(s, "Subject: b\r\n") || strings.Contains(s, "v:") {
		t.Errorf("edited fields written as received:\n%s", s)
	}
}

// An edit forgets only what the cache holds of the edited field: the
// proxy's Max-Forwards and Record-Route edits keep the top Via, CSeq and
// tags parsed, while edits of those fields are seen at once.
func TestCacheKeptAcrossOtherEdits(t *testing.T) {
	r, err := ParseRequest([]byte(sampleInvite))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	r.DecMaxForwards()
	r.Prepend("Record-Route", "<sip:192.0.2.10;lr>")
	r.Add("X-Other", "1")
	const all = cachedVia | cachedCSeq | cachedFrom | cachedTo
	if r.cache.have&all != all {
		t.Fatalf("cache after unrelated edits: %b, want %b", r.cache.have, all)
	}
	if n := testing.AllocsPerRun(10, func() { _, _ = r.TopVia(); _, _ = r.CSeq(); _ = r.FromTag() }); n != 0 {
		t.Errorf("cached reads after unrelated edits: %v allocations", n)
	}
	r.PushVia(Via{Transport: "UDP", Host: "192.0.2.10", Port: 5060, Params: ";branch=z9hG4bKp1"})
	if v, err := r.TopVia(); err != nil || v.Host != "192.0.2.10" {
		t.Errorf("TopVia after PushVia = %+v, %v", v, err)
	}
	r.Set("CSeq", "7 INVITE")
	if c, err := r.CSeq(); err != nil || c.Seq != 7 {
		t.Errorf("CSeq after Set = %+v, %v", c, err)
	}
	if err := r.SetToTag("tt1"); err != nil {
		t.Fatal(err)
	}
	if got := r.ToTag(); got != "tt1" {
		t.Errorf("ToTag after SetToTag = %q", got)
	}
	r.Set("f", "<sip:carol@example.com>;tag=ff2")
	if got := r.FromTag(); got != "ff2" {
		t.Errorf("FromTag after Set = %q", got)
	}
	r.PopVia()
	if v, err := r.TopVia(); err != nil || v.Host != "client.atlanta.example.com" {
		t.Errorf("TopVia after PopVia = %+v, %v", v, err)
	}
	r.Del("Via")
	if _, err := r.TopVia(); err == nil {
		t.Error("TopVia after Del: no error")
	}
}

package sip

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// uriFuzzSeeds returns seeds for the URI and address fuzz targets: the
// URIs and address header values of the RFC 4475 torture messages, the
// examples of RFC 3261 §19.1.3, §19.1.4 and RFC 5954 §4.2, and the test
// tables of this package.
func uriFuzzSeeds(tb testing.TB) (uris, addrs []string) {
	files, err := filepath.Glob("../testdata/rfc4475/*.dat")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no torture messages: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		head, _, _ := strings.Cut(string(data), "\r\n\r\n")
		// Unfold (RFC 3261 §7.3.1) and split into lines.
		head = strings.NewReplacer("\r\n ", " ", "\r\n\t", " ").Replace(head)
		lines := strings.Split(head, "\r\n")
		if f := strings.Fields(lines[0]); len(f) == 3 {
			uris = append(uris, f[1]) // Request-URI
		}
		for _, l := range lines[1:] {
			name, value, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "to", "t", "from", "f", "contact", "m", "route", "record-route":
				for v := range strings.SplitSeq(value, ",") {
					addrs = append(addrs, v)
				}
				addrs = append(addrs, value)
			}
		}
	}
	uris = append(uris, uriRoundTrips...)
	uris = append(uris,
		"sip:%61lice@atlanta.com;transport=TCP",
		"sip:alice@AtLanTa.CoM;Transport=tcp",
		"sip:carol@chicago.com;newparam=5",
		"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
		"sip:alice@atlanta.com?priority=urgent&subject=project%20x",
		"SIP:ALICE@AtLanTa.CoM;Transport=udp",
		"sip:bob@biloxi.com:6000;transport=tcp",
		"sip:carol@chicago.com?Subject=next%20meeting",
		"sip:bob@[::ffff:192.0.2.128]",
		"sip:bob@[::ffff:c000:280]",
		"sip:bob@[0:0:0:0:0:FFFF:129.144.52.38]",
		"tel:+1-201-555-0123;ext=1;isub=%41;phone-context=+1",
		"tel:*1#a;phone-context=example.com",
	)
	addrs = append(addrs,
		`"A. G. Bell" <sip:agb@bell-telephone.com> ;tag=a48s`,
		"*",
		"\"a\r\n b\\\x00\" <sip:a@b>;x=\"y\"",
		"Bob\r\n <tel:+1>;q=0.5",
	)
	return uris, addrs
}

func FuzzParseURI(f *testing.F) {
	uris, addrs := uriFuzzSeeds(f)
	for _, s := range uris {
		f.Add(s)
	}
	for _, s := range addrs {
		f.Add(strings.Trim(strings.TrimSpace(s), "<>"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			uriCheckParseError(t, s, err)
			return
		}
		out := u.String()
		// Only the case of the scheme and leading zeros of the port may
		// change.
		if want := uriCanonical(s, &u); out != want {
			t.Fatalf("ParseURI(%q).String() = %q, want %q", s, out, want)
		}
		u2, err := ParseURI(out)
		if err != nil {
			t.Fatalf("ParseURI(%q).String() = %q, which does not parse: %v", s, out, err)
		}
		if u2 != u || u2.String() != out {
			t.Fatalf("%q parses to %+v, its String() %q to %+v", s, u, out, u2)
		}
		if !u.Equal(u2) || !u2.Equal(u) {
			t.Fatalf("%q: Equal is not reflexive", s)
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	uris, addrs := uriFuzzSeeds(f)
	for _, s := range addrs {
		f.Add(s)
	}
	for _, s := range uris {
		f.Add(s)
		f.Add("Name <" + s + ">;tag=1")
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		wp, wok := wellFormedAddress(s)
		if wok && (err != nil || wp != a.Params) {
			t.Fatalf("wellFormedAddress(%q) = %q, but ParseAddress gives %q, %v", s, wp, a.Params, err)
		}
		if err != nil {
			uriCheckParseError(t, s, err)
			return
		}
		// The tag look-up finds the parameters ParseAddress found.
		if p, ok := addrParams(s); !ok || p != a.Params {
			t.Fatalf("addrParams(%q) = %q, %v; ParseAddress found %q", s, p, ok, a.Params)
		}
		out := a.String()
		a2, err := ParseAddress(out)
		if err != nil {
			t.Fatalf("ParseAddress(%q).String() = %q, which does not parse: %v", s, out, err)
		}
		if a2 != a || a2.String() != out {
			t.Fatalf("%q parses to %+v, its String() %q to %+v", s, a, out, a2)
		}
		if !a.URI.Equal(a2.URI) {
			t.Fatalf("%q: URI not Equal after a round trip", s)
		}
	})
}

// uriCanonical is s, which parsed to u, with the scheme as ParseURI stores
// it and the port without leading zeros.
func uriCanonical(s string, u *URI) string {
	want := u.Scheme + s[len(u.Scheme):]
	if u.Port == 0 {
		return want
	}
	// The parts of a sip URI follow each other in s.
	i := len(u.Scheme) + 1
	if u.User != "" {
		i += len(u.User) + 1
		if u.HasPass {
			i += len(u.Password) + 1
		}
	}
	i += len(u.Host) + 1
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return want[:i] + strconv.Itoa(u.Port) + want[j:]
}

func uriCheckParseError(t *testing.T, s string, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%q: error %T %v, want *ParseError", s, err, err)
	}
	if pe.Offset < -1 || pe.Offset > len(s) || pe.Reason == "" || pe.Header != "" {
		t.Fatalf("%q: bad error %+v", s, pe)
	}
}

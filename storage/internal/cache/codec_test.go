package cache

import (
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipd/sipd/location"
)

func codecCases() [][]location.Binding {
	now := time.Unix(0, time.Now().UnixNano())
	full := location.Binding{
		AOR: "sip:a@example.com", Contact: "sip:a@[2001:db8::1]:5061", Params: ";reg-id=1",
		Q: 700, Expires: now.Add(time.Hour), CallID: "c@h", CSeq: math.MaxUint32,
		Path:      []string{"<sip:p1;lr>", "", "\xff\x00"},
		Transport: "TLS", Source: netip.MustParseAddrPort("[fe80::1%" + strings.Repeat("z", 200) + "]:1"),
		Local: netip.MustParseAddrPort("192.0.2.1:5060"), UserAgent: "ua", Updated: now,
	}
	neg := location.Binding{AOR: "sip:a@example.com", Q: -5, Expires: time.Unix(0, math.MinInt64), Updated: time.Unix(0, -1)}
	return [][]location.Binding{
		{},
		{{AOR: "sip:a@example.com"}},
		{full, neg},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for i, bs := range codecCases() {
		data := AppendBindings(nil, bs)
		got, err := DecodeBindings("sip:a@example.com", data)
		if err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if len(bs) == 0 {
			bs = []location.Binding{}
		}
		if !reflect.DeepEqual(got, bs) {
			t.Errorf("case %d: round trip\n got %+v\nwant %+v", i, got, bs)
		}
	}
}

func TestCodecCorrupt(t *testing.T) {
	data := AppendBindings(nil, codecCases()[2])
	for n := range len(data) {
		if _, err := DecodeBindings("x", data[:n]); err == nil {
			t.Errorf("decoding the first %d of %d bytes succeeded", n, len(data))
		}
	}
	if _, err := DecodeBindings("x", append(data, 0)); err == nil {
		t.Error("decoding with a trailing byte succeeded")
	}
	bad := append([]byte{}, data...)
	bad[0] = 2
	if _, err := DecodeBindings("x", bad); err == nil {
		t.Error("decoding an unknown version succeeded")
	}
}

// FuzzDecodeBindings checks that no input panics the decoder and that what
// decodes encodes to something that decodes the same.
func FuzzDecodeBindings(f *testing.F) {
	for _, bs := range codecCases() {
		f.Add(AppendBindings(nil, bs))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bs, err := DecodeBindings("x", data)
		if err != nil {
			return
		}
		again, err := DecodeBindings("x", AppendBindings(nil, bs))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, bs) {
			t.Fatalf("re-encoded record decodes differently:\n%+v\n%+v", again, bs)
		}
	})
}

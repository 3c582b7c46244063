package transaction

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sipd/sipd/sip"
)

// packSamples are responses as a server transaction keeps them.
func packSamples(t testing.TB) map[string][]byte {
	t.Helper()
	reg, err := sip.ParseRequest(memRegister(NewBranch(), 12345))
	if err != nil {
		t.Fatal(err)
	}
	bye, err := sip.ParseRequest(memWire(sip.MethodBye, NewBranch(), 12345))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := sip.ParseRequest(memWire(sip.MethodInvite, NewBranch(), 12345))
	if err != nil {
		t.Fatal(err)
	}
	withBody := memAnswer(inv, 200)
	withBody.Add("Content-Type", "application/sdp")
	// A body with our codes, CR LF pairs and a blank line in it.
	withBody.Body = []byte("v=0\r\n\x01\x02\x1f\r\n\r\nSIP/2.0 ;tag=\r\nFrom: x\r\n\r\n")
	quoted := memAnswer(bye, 603)
	quoted.Add("Warning", "399 example.com \"a \\\x01 quoted-pair\"")
	return map[string][]byte{
		"REGISTER 200":        memAnswer(reg, 200).Bytes(),
		"BYE 200":             memAnswer(bye, 200).Bytes(),
		"INVITE 486":          memAnswer(inv, 486).Bytes(),
		"200 with a body":     withBody.Bytes(),
		"control in a header": quoted.Bytes(),
		"no end":              []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKx\r\n"),
		"only a status line":  []byte("SIP/2.0 200 OK\r\n\r\n"),
		"empty":               nil,
	}
}

// TestPack: a response packs and unpacks to the same bytes, its body and
// any control character in it included, and the common responses pack
// to much less.
func TestPack(t *testing.T) {
	for name, msg := range packSamples(t) {
		p := pack(nil, msg)
		got := unpack(nil, string(p))
		if !bytes.Equal(got, msg) {
			t.Errorf("%s: unpacked\n%q\nwant\n%q", name, got, msg)
		}
		t.Logf("%s: %d -> %d bytes", name, len(msg), len(p))
		switch name {
		case "REGISTER 200", "BYE 200", "INVITE 486":
			if len(p) > len(msg)*3/4 {
				t.Errorf("%s: packed to %d of %d bytes", name, len(p), len(msg))
			}
		case "control in a header", "no end":
			if p[0] != packedRaw || len(p) != len(msg)+1 {
				t.Errorf("%s: not kept as it is: %q", name, p)
			}
		}
	}
	// pack appends.
	if p := pack([]byte("x"), []byte("SIP/2.0 200 OK\r\n\r\n")); !strings.HasPrefix(string(p), "x") || string(unpack(nil, string(p[1:]))) != "SIP/2.0 200 OK\r\n\r\n" {
		t.Errorf("pack does not append: %q", p)
	}
}

// FuzzPack: whatever the bytes, unpack(pack(b)) is b, and unpack of any
// input does not panic.
func FuzzPack(f *testing.F) {
	for _, msg := range packSamples(f) {
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if got := unpack(nil, string(pack(nil, msg))); !bytes.Equal(got, msg) {
			t.Fatalf("unpacked\n%q\nwant\n%q", got, msg)
		}
		unpack(nil, string(msg))
	})
}

func BenchmarkPack(b *testing.B) {
	msg := packSamples(b)["REGISTER 200"]
	var buf [1024]byte
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		pack(buf[:0], msg)
	}
}

func BenchmarkUnpack(b *testing.B) {
	p := string(pack(nil, packSamples(b)["REGISTER 200"]))
	var buf [1024]byte
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		unpack(buf[:0], p)
	}
}

// BenchmarkPackBytes is, for scale, the serialization pack follows.
func BenchmarkPackBytes(b *testing.B) {
	reg, err := sip.ParseRequest(memRegister(NewBranch(), 12345))
	if err != nil {
		b.Fatal(err)
	}
	resp := memAnswer(reg, 200)
	var buf [1024]byte
	for b.Loop() {
		resp.AppendTo(buf[:0])
	}
}

package sip

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func addTortureSeeds(f *testing.F) {
	paths, _ := filepath.Glob("../testdata/rfc4475/*.dat")
	extra, _ := filepath.Glob("../testdata/rfc4475/extra/*.dat")
	for _, p := range append(paths, extra...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{sampleInvite, sampleRegister, sampleResponse} {
		f.Add([]byte(s))
	}
}

// FuzzParseMessage: no input panics; what parses serializes, the output
// parses again, and serializing that gives the same bytes. Reading every
// typed field and validating must not panic either.
func FuzzParseMessage(f *testing.F) {
	addTortureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		exercise(m)
		out := m.AppendTo(nil)
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		if out2 := m2.AppendTo(nil); !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%q\n%q", out, out2)
		}
		// An edited message must serialize to something that parses.
		h := m.Headers()
		h.PushVia(Via{Transport: "UDP", Host: "fuzz.example.com", Params: ";branch=z9hG4bKf"})
		h.PopFirst("Route")
		h.DecMaxForwards()
		out3 := m.AppendTo(nil)
		if _, err := Parse(out3); err != nil {
			t.Fatalf("edited output does not parse: %v\n%q", err, out3)
		}
	})
}

func exercise(m Message) {
	h := m.Headers()
	switch m := m.(type) {
	case *Request:
		_ = m.Validate()
	case *Response:
		_ = m.Validate()
	}
	h.TopVia()
	h.Vias()
	h.CSeq()
	h.From()
	h.To()
	h.Contacts()
	h.Routes()
	h.RecordRoutes()
	h.MaxForwards()
	h.Expires()
	h.Event()
	h.SubscriptionState()
	h.RAck()
	h.Replaces()
	h.SessionExpires()
	h.ReferTo()
	h.OptionTags("Require")
	h.ContentType()
	for range h.Values("Accept") {
	}
}

// FuzzStreamFramer feeds the input in pieces whose sizes come from the
// input itself; the messages framed must be the same as when it is fed whole.
func FuzzStreamFramer(f *testing.F) {
	for _, s := range []string{sampleInvite + sampleRegister, "\r\n\r\n" + sampleResponse, sampleInvite[:100]} {
		f.Add([]byte(s), []byte{3, 50, 7})
	}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		whole := collect(t, data, nil)
		pieces := collect(t, data, cuts)
		if len(whole) != len(pieces) {
			t.Fatalf("whole gives %d frames, pieces %d", len(whole), len(pieces))
		}
		for i := range whole {
			if whole[i] != pieces[i] {
				t.Fatalf("frame %d differs", i)
			}
		}
	})
}

func collect(t *testing.T, data, cuts []byte) []string {
	f := Framer{MaxMessageSize: 4096}
	var out []string
	for len(data) > 0 {
		n := len(data)
		if len(cuts) > 0 {
			n = min(int(cuts[0])+1, len(data))
			cuts = cuts[1:]
		}
		f.Write(data[:n])
		data = data[n:]
		for {
			msg, ping, err := f.Next()
			if err != nil {
				return append(out, "error")
			}
			if ping {
				out = append(out, "ping")
				continue
			}
			if msg == nil {
				break
			}
			if len(msg) > 4096 {
				t.Fatalf("frame of %d bytes exceeds the limit", len(msg))
			}
			out = append(out, string(msg))
		}
	}
	return out
}

package sip

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// frames feeds the pieces one by one and collects what Next hands out.
func frames(t *testing.T, f *Framer, pieces ...string) (msgs []string, pings int, err error) {
	t.Helper()
	for _, p := range pieces {
		f.Write([]byte(p))
		for {
			msg, ping, err := f.Next()
			if err != nil {
				return msgs, pings, err
			}
			if ping {
				pings++
				continue
			}
			if msg == nil {
				break
			}
			msgs = append(msgs, string(msg))
		}
	}
	return msgs, pings, nil
}

func TestFramer(t *testing.T) {
	a, b := sampleInvite, sampleRegister
	tests := []struct {
		name   string
		pieces []string
		want   []string
		pings  int
	}{
		{"two messages in one segment", []string{a + b}, []string{a, b}, 0},
		{"one message in three segments", []string{a[:10], a[10:300], a[300:]}, []string{a}, 0},
		{"split inside the header terminator", []string{a[:strings.Index(a, "\r\n\r\n")+1], a[strings.Index(a, "\r\n\r\n")+1:]}, []string{a}, 0},
		{"split inside the body", []string{a[:len(a)-20], a[len(a)-20:] + b}, []string{a, b}, 0},
		{"keep-alive ping before and between", []string{"\r\n\r\n" + a + "\r\n\r\n", b}, []string{a, b}, 2},
		{"pong CRLF between messages", []string{a + "\r\n", b}, []string{a, b}, 0},
		{"ping split across writes", []string{"\r\n", "\r", "\n" + b}, []string{b}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Framer
			got, pings, err := frames(t, &f, tt.pieces...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("message %d:\n%q\nwant\n%q", i, got[i], tt.want[i])
				}
				if _, err := new(Parser).ParseStream([]byte(got[i])); err != nil {
					t.Errorf("message %d does not parse: %v", i, err)
				}
			}
			eq(t, "pings", pings, tt.pings)
			eq(t, "left over", f.Buffered(), 0)
		})
	}
}

func TestFramerByteAtATime(t *testing.T) {
	var f Framer
	in := sampleInvite + "\r\n\r\n" + sampleResponse + sampleRegister
	var pieces []string
	for i := range len(in) {
		pieces = append(pieces, in[i:i+1])
	}
	got, pings, err := frames(t, &f, pieces...)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "messages", strings.Join(got, ""), sampleInvite+sampleResponse+sampleRegister)
	eq(t, "pings", pings, 1)
}

func TestFramerErrors(t *testing.T) {
	tests := []struct {
		name string
		max  int
		in   string
		want error
	}{
		{"no Content-Length", 0, "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", ErrNoContentLength},
		{"Content-Length too large", 1000, "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n", ErrTooLarge},
		{"endless header section", 1000, "OPTIONS sip:a@b SIP/2.0\r\n" + strings.Repeat("X: y\r\n", 300), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Framer{MaxMessageSize: tt.max}
			_, _, err := frames(t, &f, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			// The error sticks: the stream cannot be resynchronized.
			f.Write([]byte(sampleRegister))
			if _, _, err2 := f.Next(); err2 == nil {
				t.Error("framer recovered after an error")
			}
			if f.Buffered() > 2*len(tt.in)+len(sampleRegister) {
				t.Error("framer holds more than it was given")
			}
		})
	}
	var f Framer
	if _, _, err := frames(t, &f, "OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab"); err == nil {
		t.Error("conflicting Content-Length values accepted")
	}
}

func TestFramerBoundedMemory(t *testing.T) {
	// A long run of messages must not grow the buffer without bound.
	var f Framer
	for range 2000 {
		f.Write([]byte(sampleRegister))
		msg, _, err := f.Next()
		if err != nil || !bytes.Equal(msg, []byte(sampleRegister)) {
			t.Fatalf("next: %q, %v", msg, err)
		}
	}
	if cap(f.buf) > 4*len(sampleRegister) {
		t.Errorf("buffer grew to %d bytes", cap(f.buf))
	}
}

func TestFramerFoldedContentLength(t *testing.T) {
	in := "OPTIONS sip:a@b SIP/2.0\r\nContent-Length:\r\n 2\r\n\r\nab"
	var f Framer
	msgs, _, err := frames(t, &f, in)
	if err != nil || len(msgs) != 1 || msgs[0] != in {
		t.Fatalf("framed %q, %v", msgs, err)
	}
}

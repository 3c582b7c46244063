package location

import (
	"testing"
	"time"
)

func TestAppendQ(t *testing.T) {
	for q, want := range map[int]string{0: "0", 1: "0.001", 10: "0.01", 100: "0.1", 125: "0.125", 500: "0.5", 999: "0.999", 1000: "1"} {
		if got := string(AppendQ(nil, q)); got != want {
			t.Errorf("AppendQ(%d) = %q, want %q", q, got, want)
		}
	}
}

func TestAppendContact(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := Binding{Contact: "sip:a@192.0.2.1", Params: ";+sip.instance=\"<urn:x>\";reg-id=1", Q: 500, Expires: now.Add(90*time.Second + time.Millisecond)}
	if got, want := string(b.AppendContact(nil, now, true)), `<sip:a@192.0.2.1>;+sip.instance="<urn:x>";reg-id=1;q=0.5;expires=91`; got != want {
		t.Errorf("with params: %s, want %s", got, want)
	}
	b.Q = 1000
	if got, want := string(b.AppendContact(nil, now, false)), `<sip:a@192.0.2.1>;expires=91`; got != want {
		t.Errorf("without params: %s, want %s", got, want)
	}
}

package location

import (
	"testing"

	"github.com/sipd/sipd/sip"
)

// BenchmarkCanonicalAOR is the key of every location lookup: the AOR of
// a Request-URI (RFC 3261 §10.3 step 5, §16.5).
func BenchmarkCanonicalAOR(b *testing.B) {
	u, err := sip.ParseURI("sip:Bob@Example.COM:5060;transport=udp;user=phone")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if aor, err := CanonicalAOR(u); err != nil || aor != "sip:Bob@example.com" {
			b.Fatalf("CanonicalAOR = %q, %v", aor, err)
		}
	}
}

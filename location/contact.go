package location

import (
	"strconv"
	"time"
)

// AppendContact appends b as a Contact header value: its URI in angle
// brackets, its other parameters when withParams is set, q when not 1, and
// expires as the seconds left at now, rounded up so that a live binding
// never shows 0. The registrar's 200 OK lists bindings so (RFC 3261 §10.3
// step 8: "Each Contact value MUST feature an 'expires' parameter"); a
// redirect server's 302 shows the URI, q and expires only (§21.3.3).
func (b *Binding) AppendContact(buf []byte, now time.Time, withParams bool) []byte {
	buf = append(buf, '<')
	buf = append(buf, b.Contact...)
	buf = append(buf, '>')
	if withParams {
		buf = append(buf, b.Params...)
	}
	if b.Q != 1000 {
		buf = append(buf, ";q="...)
		buf = AppendQ(buf, b.Q)
	}
	buf = append(buf, ";expires="...)
	left := (b.Expires.Sub(now) + time.Second - 1) / time.Second
	return strconv.AppendInt(buf, int64(left), 10)
}

// AppendQ appends a q-value given times 1000 (RFC 3261 §20.10 qvalue):
// "0", "0.5", "0.125", "1".
func AppendQ(buf []byte, q int) []byte {
	switch {
	case q >= 1000:
		return append(buf, '1')
	case q <= 0:
		return append(buf, '0')
	}
	d := [3]byte{byte('0' + q/100), byte('0' + q/10%10), byte('0' + q%10)}
	n := 3
	for d[n-1] == '0' {
		n--
	}
	buf = append(buf, "0."...)
	return append(buf, d[:n]...)
}

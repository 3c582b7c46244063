package sqlite

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"time"

	"github.com/sipd/sipd/location"
)

// The bindings of an AOR are stored as one BLOB:
//
//	blob    = version(1 byte, 1) count(uvarint) binding*count
//	binding = flags(1 byte) contact params q(varint) [expires(varint)]
//	          call-id cseq(uvarint) path-count(uvarint) string*path-count
//	          transport source local user-agent [updated(varint)]
//	string  = length(uvarint) bytes
//	source, local = length(uvarint) netip.AddrPort.MarshalBinary
//
// flags bit 0 says expires is present, bit 1 updated: the zero time is not
// stored. Times are Unix nanoseconds. Strings are kept byte for byte, valid
// UTF-8 or not. One row per AOR makes an Apply one statement however many
// contacts the AOR has, and the row a third cheaper to write than one row
// per binding with a column per field.

const (
	codecVersion = 1
	hasExpires   = 1 << 0
	hasUpdated   = 1 << 1
)

var errCorrupt = errors.New("sqlite: corrupt bindings record")

// appendBindings appends the encoding of bs to dst.
func appendBindings(dst []byte, bs []location.Binding) []byte {
	dst = append(dst, codecVersion)
	dst = binary.AppendUvarint(dst, uint64(len(bs)))
	for i := range bs {
		b := &bs[i]
		var flags byte
		if !b.Expires.IsZero() {
			flags |= hasExpires
		}
		if !b.Updated.IsZero() {
			flags |= hasUpdated
		}
		dst = append(dst, flags)
		dst = appendString(dst, b.Contact)
		dst = appendString(dst, b.Params)
		dst = binary.AppendVarint(dst, int64(b.Q))
		if flags&hasExpires != 0 {
			dst = binary.AppendVarint(dst, clampNanos(b.Expires))
		}
		dst = appendString(dst, b.CallID)
		dst = binary.AppendUvarint(dst, uint64(b.CSeq))
		dst = binary.AppendUvarint(dst, uint64(len(b.Path)))
		for _, p := range b.Path {
			dst = appendString(dst, p)
		}
		dst = appendString(dst, b.Transport)
		dst = appendAddrPort(dst, b.Source)
		dst = appendAddrPort(dst, b.Local)
		dst = appendString(dst, b.UserAgent)
		if flags&hasUpdated != 0 {
			dst = binary.AppendVarint(dst, clampNanos(b.Updated))
		}
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendAddrPort(dst []byte, ap netip.AddrPort) []byte {
	if !ap.Addr().IsValid() {
		return append(dst, 0)
	}
	n := len(dst)
	dst = append(dst, 0) // length placeholder: an address is at most 16+zone+2 bytes
	dst, _ = ap.AppendBinary(dst)
	if l := len(dst) - n - 1; l < 0x80 {
		dst[n] = byte(l)
		return dst
	}
	// A zone longer than a one-byte uvarint allows: re-encode.
	b, _ := ap.MarshalBinary()
	return appendString(dst[:n], string(b))
}

// decodeBindings decodes a record of aor.
func decodeBindings(aor string, data []byte) ([]location.Binding, error) {
	d := decoder{data: data}
	if d.byte() != codecVersion {
		return nil, errCorrupt
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(data)) { // each binding takes several bytes
		return nil, errCorrupt
	}
	bs := make([]location.Binding, n)
	for i := range bs {
		b := &bs[i]
		b.AOR = aor
		flags := d.byte()
		b.Contact = d.string()
		b.Params = d.string()
		q := d.varint()
		if q < math.MinInt32 || q > math.MaxInt32 {
			return nil, errCorrupt
		}
		b.Q = int(q)
		if flags&hasExpires != 0 {
			b.Expires = time.Unix(0, d.varint())
		}
		b.CallID = d.string()
		cseq := d.uvarint()
		if cseq > math.MaxUint32 {
			return nil, errCorrupt
		}
		b.CSeq = uint32(cseq)
		if np := d.uvarint(); np > 0 {
			if np > uint64(len(data)) {
				return nil, errCorrupt
			}
			b.Path = make([]string, np)
			for j := range b.Path {
				b.Path[j] = d.string()
			}
		}
		b.Transport = d.string()
		b.Source = d.addrPort()
		b.Local = d.addrPort()
		b.UserAgent = d.string()
		if flags&hasUpdated != 0 {
			b.Updated = time.Unix(0, d.varint())
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	if d.err != nil || len(d.data) != 0 {
		return nil, errCorrupt
	}
	return bs, nil
}

type decoder struct {
	data []byte
	err  error
}

func (d *decoder) byte() byte {
	if len(d.data) == 0 {
		d.err = errCorrupt
		return 0
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.data)
	if n <= 0 {
		d.err = errCorrupt
		d.data = nil
		return 0
	}
	d.data = d.data[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.data)
	if n <= 0 {
		d.err = errCorrupt
		d.data = nil
		return 0
	}
	d.data = d.data[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.data)) {
		d.err = errCorrupt
		d.data = nil
		return nil
	}
	b := d.data[:n]
	d.data = d.data[n:]
	return b
}

func (d *decoder) string() string {
	return string(d.bytes())
}

func (d *decoder) addrPort() netip.AddrPort {
	b := d.bytes()
	if len(b) == 0 {
		return netip.AddrPort{}
	}
	var ap netip.AddrPort
	if err := ap.UnmarshalBinary(b); err != nil || !ap.Addr().IsValid() {
		d.err = errCorrupt
	}
	return ap
}

// clampNanos returns t as Unix nanoseconds, clamped to the int64 range.
func clampNanos(t time.Time) int64 {
	if t.Before(time.Unix(0, math.MinInt64)) {
		return math.MinInt64
	}
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// normalize returns t as it reads back from the database.
func normalize(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(0, clampNanos(t))
}

// normalized sets the times of bs to what they read back as from the
// database, so the in-memory index holds what a reopen would load.
func normalized(bs []location.Binding) []location.Binding {
	for i := range bs {
		bs[i].Expires = normalize(bs[i].Expires)
		bs[i].Updated = normalize(bs[i].Updated)
	}
	return bs
}

// latest returns the last Expires of bs, in Unix nanoseconds (0 if none).
func latest(bs []location.Binding) int64 {
	var n int64
	for i := range bs {
		if !bs[i].Expires.IsZero() {
			n = max(n, clampNanos(bs[i].Expires))
		}
	}
	return n
}

package cache

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"time"
	"unsafe"

	"github.com/sipd/sipd/location"
)

// The bindings of an AOR are encoded as one record, the BLOB the sqlite
// engine stores and the string the index keeps in memory:
//
//	record  = version(1 byte, 1) count(uvarint) binding*count
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
// per binding with a column per field. In memory, a record is a string: no
// pointers for the garbage collector to follow, and about a third of the
// bytes of the bindings as structs.

const (
	codecVersion = 1
	hasExpires   = 1 << 0
	hasUpdated   = 1 << 1
)

// ErrCorrupt is returned for a record that does not decode.
var ErrCorrupt = errors.New("corrupt bindings record")

// AppendBindings appends the encoding of bs to dst.
func AppendBindings(dst []byte, bs []location.Binding) []byte {
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
			dst = binary.AppendVarint(dst, ClampNanos(b.Expires))
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
			dst = binary.AppendVarint(dst, ClampNanos(b.Updated))
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

// DecodeBindings decodes a record of aor. It copies data once: the
// strings of the bindings share that copy.
func DecodeBindings(aor string, data []byte) ([]location.Binding, error) {
	return decodeRecord(aor, string(data), false, 0)
}

// decodeRecord decodes rec, a record of aor; with live, only the bindings
// whose Expires is after now (Unix nanoseconds). The strings of the
// bindings are substrings of rec.
func decodeRecord(aor, rec string, live bool, now int64) ([]location.Binding, error) {
	d := decoder{s: rec}
	if d.byte() != codecVersion {
		return nil, ErrCorrupt
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(rec)) { // each binding takes several bytes
		return nil, ErrCorrupt
	}
	dst := make([]location.Binding, 0, n)
	for range n {
		var b location.Binding
		b.AOR = aor
		flags := d.byte()
		b.Contact = d.string()
		b.Params = d.string()
		q := d.varint()
		if q < math.MinInt32 || q > math.MaxInt32 {
			return nil, ErrCorrupt
		}
		b.Q = int(q)
		var exp int64
		if flags&hasExpires != 0 {
			exp = d.varint()
			b.Expires = time.Unix(0, exp)
		}
		b.CallID = d.string()
		cseq := d.uvarint()
		if cseq > math.MaxUint32 {
			return nil, ErrCorrupt
		}
		b.CSeq = uint32(cseq)
		if np := d.uvarint(); np > 0 {
			if np > uint64(len(rec)) {
				return nil, ErrCorrupt
			}
			b.Path = make([]string, np)
			for j := range b.Path {
				b.Path[j] = d.string()
			}
		}
		b.Transport = Transport(d.string())
		b.Source = d.addrPort()
		b.Local = d.addrPort()
		b.UserAgent = d.string()
		if flags&hasUpdated != 0 {
			b.Updated = time.Unix(0, d.varint())
		}
		if d.err != nil {
			return nil, d.err
		}
		if !live || (flags&hasExpires != 0 && exp > now) {
			dst = append(dst, b)
		}
	}
	if d.err != nil || len(d.s) != 0 {
		return nil, ErrCorrupt
	}
	return dst, nil
}

// decoder reads a record held in a string; what it returns of it are
// substrings, not copies.
type decoder struct {
	s   string
	err error
}

func (d *decoder) fail() {
	d.err = ErrCorrupt
	d.s = ""
}

func (d *decoder) byte() byte {
	if len(d.s) == 0 {
		d.fail()
		return 0
	}
	b := d.s[0]
	d.s = d.s[1:]
	return b
}

// uvarint reads an unsigned varint as encoding/binary writes it, with
// its checks (at most 10 bytes, no overflow).
func (d *decoder) uvarint() uint64 {
	var x uint64
	var s uint
	for i := range len(d.s) {
		if i == binary.MaxVarintLen64 {
			break
		}
		b := d.s[i]
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				break
			}
			d.s = d.s[i+1:]
			return x | uint64(b)<<s
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	d.fail()
	return 0
}

func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.s)) {
		d.fail()
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

func (d *decoder) addrPort() netip.AddrPort {
	s := d.string()
	if len(s) == 0 {
		return netip.AddrPort{}
	}
	var ap netip.AddrPort
	// UnmarshalBinary only reads b (a zone it copies).
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	if err := ap.UnmarshalBinary(b); err != nil || !ap.Addr().IsValid() {
		d.fail()
	}
	return ap
}

// ClampNanos returns t as Unix nanoseconds, clamped to the int64 range.
func ClampNanos(t time.Time) int64 {
	if t.Before(time.Unix(0, math.MinInt64)) {
		return math.MinInt64
	}
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

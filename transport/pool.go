package transport

import "sync"

// Buffer size classes. A stream connection reads into a small buffer (the
// Framer keeps partial messages itself); a UDP socket reads into a large
// one, as a datagram can hold up to 65535 bytes. Sends serialize into a
// small buffer; a larger message grows a fresh slice that is left to the
// garbage collector.
const (
	smallBufSize = 4 << 10
	largeBufSize = 64 << 10
)

// bufPools hands out fixed-size arrays, so that a buffer put back is always
// fit for the next user (nats-server nbPoolGet/nbPoolPut).
type bufPools struct {
	small sync.Pool // *[smallBufSize]byte
	large sync.Pool // *[largeBufSize]byte
}

func (p *bufPools) getSmall() *[smallBufSize]byte {
	if b, ok := p.small.Get().(*[smallBufSize]byte); ok {
		return b
	}
	return new([smallBufSize]byte)
}

func (p *bufPools) putSmall(b *[smallBufSize]byte) { p.small.Put(b) }

func (p *bufPools) getLarge() *[largeBufSize]byte {
	if b, ok := p.large.Get().(*[largeBufSize]byte); ok {
		return b
	}
	return new([largeBufSize]byte)
}

func (p *bufPools) putLarge(b *[largeBufSize]byte) { p.large.Put(b) }

//go:build !(linux && (amd64 || arm64))

package transport

import (
	"net"
	"net/netip"
)

// udpBatch reads one datagram at a time where recvmmsg(2) is not used.
type udpBatch struct {
	l     *Layer
	pc    *net.UDPConn
	buf   *[largeBufSize]byte
	n     int
	from  netip.AddrPort
	stats batchStats
}

func newUDPBatch(l *Layer, pc *net.UDPConn, _ func()) (*udpBatch, error) {
	return &udpBatch{l: l, pc: pc, buf: l.bufs.getLarge()}, nil
}

func (b *udpBatch) read() (int, error) {
	n, from, err := b.pc.ReadFromUDPAddrPort(b.buf[:])
	if err != nil {
		return 0, err
	}
	b.n, b.from = n, from
	b.stats.reads++
	b.stats.datagrams++
	return 1, nil
}

func (b *udpBatch) datagram(int) ([]byte, netip.AddrPort, error) {
	return b.buf[:b.n], b.from, nil
}

func (b *udpBatch) release() {
	b.l.bufs.putLarge(b.buf)
	b.buf = nil
}

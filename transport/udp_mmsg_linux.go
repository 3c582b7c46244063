//go:build linux && (amd64 || arm64)

package transport

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"
)

// mmsghdr is struct mmsghdr of recvmmsg(2) on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   [4]byte
}

// udpBatch reads up to udpBatchSize datagrams with one recvmmsg(2) into
// buffers of its own, taken from the layer's pool and returned by release.
// Its slices are made once: a read allocates nothing.
type udpBatch struct {
	l     *Layer
	rc    syscall.RawConn
	bufs  [udpBatchSize]*[largeBufSize]byte
	iovs  [udpBatchSize]syscall.Iovec
	names [udpBatchSize]syscall.RawSockaddrInet6 // large enough for IPv4 too
	hdrs  [udpBatchSize]mmsghdr
	n     int
	errno syscall.Errno
	recv  func(fd uintptr) bool // made once, for rc.Read
	stats batchStats
}

// idle, when not nil, is called each time the socket has nothing more to
// read, before the read waits for the poller.
func newUDPBatch(l *Layer, pc *net.UDPConn, idle func()) (*udpBatch, error) {
	rc, err := pc.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &udpBatch{l: l, rc: rc}
	for i := range b.bufs {
		b.bufs[i] = l.bufs.getLarge()
		b.iovs[i] = syscall.Iovec{Base: &b.bufs[i][0]}
		b.iovs[i].SetLen(largeBufSize)
		h := &b.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.Iovlen = 1
	}
	b.recv = func(fd uintptr) bool {
		for {
			// A raw system call: with MSG_DONTWAIT it never blocks, and
			// the runtime's bookkeeping for one that might (entersyscall
			// hands the P off and wakes sysmon when it sleeps) costs
			// more than the call itself, with a context switch of
			// sysmon's thread for each burst of datagrams (see rawSend).
			r, _, e := syscall.RawSyscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])),
				udpBatchSize, syscall.MSG_DONTWAIT, 0, 0)
			switch e {
			case 0:
				b.n, b.errno = int(r), 0
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				if idle != nil {
					idle()
				}
				return false // nothing queued: wait for the poller
			}
			b.n, b.errno = 0, e
			return true
		}
	}
	return b, nil
}

// read waits for datagrams and returns how many it got; then datagram(i)
// returns each. The error is net.ErrClosed (wrapped) once the socket is
// closed, or a transient one (an ICMP error reported on the socket).
func (b *udpBatch) read() (int, error) {
	for i := range b.hdrs {
		b.hdrs[i].hdr.Namelen = syscall.SizeofSockaddrInet6
		b.hdrs[i].hdr.Flags = 0
		b.hdrs[i].len = 0
	}
	if err := b.rc.Read(b.recv); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, b.errno
	}
	b.stats.reads++
	b.stats.datagrams += uint64(b.n)
	return b.n, nil
}

// datagram returns the i-th datagram of the last read and its source.
func (b *udpBatch) datagram(i int) ([]byte, netip.AddrPort, error) {
	h := &b.hdrs[i]
	if h.hdr.Flags&syscall.MSG_TRUNC != 0 {
		return nil, netip.AddrPort{}, errors.New("truncated datagram")
	}
	from, ok := sockaddrAddrPort(&b.names[i], h.hdr.Namelen)
	if !ok {
		return nil, netip.AddrPort{}, errors.New("datagram from an unknown address family")
	}
	return b.bufs[i][:h.len], from, nil
}

func (b *udpBatch) release() {
	for i, p := range b.bufs {
		b.l.bufs.putLarge(p)
		b.bufs[i] = nil
	}
}

// sockaddrAddrPort converts a sockaddr_in or sockaddr_in6 as the kernel
// filled it in, with the IPv6 zone as net names it (the interface name, or
// its index when it has none).
func sockaddrAddrPort(rsa *syscall.RawSockaddrInet6, n uint32) (netip.AddrPort, bool) {
	switch rsa.Family {
	case syscall.AF_INET:
		if n < syscall.SizeofSockaddrInet4 {
			return netip.AddrPort{}, false
		}
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port)), true
	case syscall.AF_INET6:
		if n < syscall.SizeofSockaddrInet6 {
			return netip.AddrPort{}, false
		}
		a := netip.AddrFrom16(rsa.Addr)
		if rsa.Scope_id != 0 {
			zone := strconv.FormatUint(uint64(rsa.Scope_id), 10)
			if ifi, err := net.InterfaceByIndex(int(rsa.Scope_id)); err == nil {
				zone = ifi.Name
			}
			a = a.WithZone(zone)
		}
		return netip.AddrPortFrom(a, ntohs(rsa.Port)), true
	}
	return netip.AddrPort{}, false
}

// ntohs reads a port in network byte order as the kernel stored it.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

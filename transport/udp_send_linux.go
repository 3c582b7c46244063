//go:build linux && (amd64 || arm64)

package transport

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// udpSend is one sendto(2) in the making: the datagram, its destination as
// a sockaddr, and the function the socket's RawConn.Write calls with the
// descriptor, made once per udpSend so that a send allocates nothing.
type udpSend struct {
	b     []byte
	sa    syscall.RawSockaddrInet6 // large enough for IPv4 too
	salen uintptr
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

var udpSends = sync.Pool{New: func() any {
	s := new(udpSend)
	s.fn = s.send
	return s
}}

// send makes the system call. It is a raw one: the socket is non-blocking
// (a full send buffer returns EAGAIN, and then RawConn.Write waits for the
// poller and calls again), so it never blocks, and the bookkeeping the
// runtime does around a system call that might (entersyscall: the P is
// handed off, and sysmon, asleep while the process is idle, is woken up
// to watch it) costs more than the call: at a few thousand datagrams per
// second, waking sysmon and its 20 µs naps that follow were a context
// switch or more per datagram.
func (s *udpSend) send(fd uintptr) bool {
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.b))),
			uintptr(len(s.b)), 0, uintptr(unsafe.Pointer(&s.sa)), s.salen)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.errno = e
		return true
	}
}

// rawSend sends b to dst with one sendto(2) as described at udpSend.send.
// done is false when dst cannot be written as a sockaddr for this socket
// here (an IPv6 zone, a family the socket does not have): then the caller
// sends it the ordinary way. Errors are wrapped as the net package does.
func (u *udpSocket) rawSend(b []byte, dst netip.AddrPort) (done bool, err error) {
	if u.rc == nil {
		return false, nil
	}
	s := udpSends.Get().(*udpSend)
	defer udpSends.Put(s)
	var n uint32
	if !setSockaddr(&s.sa, &n, u.addr, dst) {
		return false, nil
	}
	s.salen = uintptr(n)
	s.b, s.errno = b, 0
	err = u.rc.Write(s.fn)
	s.b = nil
	if err == nil && s.errno != 0 {
		// As WriteToUDPAddrPort reports it; an error of Write itself
		// (the socket closed) is a *net.OpError already.
		err = &net.OpError{Op: "write", Net: "udp", Source: net.UDPAddrFromAddrPort(u.addr),
			Addr: net.UDPAddrFromAddrPort(dst), Err: os.NewSyscallError("sendto", s.errno)}
	}
	if err == nil {
		u.sentOK(dst)
	}
	return true, err
}

// htons returns p in network byte order as the kernel reads it from a
// sockaddr.
func htons(p uint16) uint16 {
	var b [2]byte
	b[0], b[1] = byte(p>>8), byte(p)
	return *(*uint16)(unsafe.Pointer(&b))
}

package transport

import (
	"net"
	"syscall"
)

// forceUDPBuffers sets the buffers past net.core.rmem_max and wmem_max
// when the kernel granted less than asked and the process may
// (SO_RCVBUFFORCE and SO_SNDBUFFORCE need CAP_NET_ADMIN); otherwise it
// leaves what SetReadBuffer and SetWriteBuffer got.
func forceUDPBuffers(pc *net.UDPConn, read, write int) {
	r, w, err := udpBuffers(pc)
	if err != nil || (r >= read && w >= write) {
		return
	}
	rc, err := pc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if r < read {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, read)
		}
		if w < write {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, write)
		}
	})
}

// udpBuffers returns the socket's receive and send buffer sizes as the
// program may use them. Linux reports twice what was set (it doubles the
// value for its bookkeeping, socket(7)); this halves it back.
func udpBuffers(pc *net.UDPConn) (read, write int, err error) {
	rc, err := pc.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var gerr error
	cerr := rc.Control(func(fd uintptr) {
		if read, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF); gerr != nil {
			return
		}
		write, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	})
	if cerr != nil {
		return 0, 0, cerr
	}
	return read / 2, write / 2, gerr
}

//go:build !linux

package transport

import (
	"errors"
	"net"
)

// forceUDPBuffers does nothing outside Linux: SetReadBuffer and
// SetWriteBuffer are all there is.
func forceUDPBuffers(*net.UDPConn, int, int) {}

// udpBuffers is not available outside Linux.
func udpBuffers(*net.UDPConn) (read, write int, err error) {
	return 0, 0, errors.New("transport: socket buffer sizes are read on Linux only")
}

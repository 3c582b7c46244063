//go:build !(linux && (amd64 || arm64))

package transport

import "net/netip"

// sendQueue is not used here: every datagram is sent when it is written.
type sendQueue struct{}

func newSendQueue() *sendQueue                               { return nil }
func (u *udpSocket) beginBatch()                             {}
func (u *udpSocket) endBatch()                               {}
func (u *udpSocket) queue([]byte, netip.AddrPort, bool) bool { return false }
func (u *udpSocket) sentOK(netip.AddrPort)                   {}

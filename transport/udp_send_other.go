//go:build !(linux && (amd64 || arm64))

package transport

import "net/netip"

// rawSend is not used here: writeTo sends through the net package.
func (u *udpSocket) rawSend([]byte, netip.AddrPort) (bool, error) { return false, nil }

package test

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
)

// Ports that a test hands to another process (SIPp, baresip, Kamailio,
// sipd) come from 20000–31999, below Linux's ephemeral range (32768 and
// up, /proc/sys/net/ipv4/ip_local_port_range): a port picked by binding
// port 0 and closing is an ephemeral one, which the kernel may give to
// any outgoing connection or other port-0 socket before the process it
// was meant for binds it ("Address already in use"). Below the range only
// this allocator hands ports out, each once per test binary, starting at
// a random offset so that two test binaries at once (a developer's run
// beside CI's) rarely meet; a port is given only when both UDP and TCP can
// bind it now, as SIP listens on both. Ports go in steps of 4, the ones
// between left free: SIP tools take the next port or two for themselves
// (baresip listens for TLS on its SIP port + 1).
const (
	portBase  = 20000
	portRange = 12000
)

var portSeq atomic.Int64

func init() { portSeq.Store(rand.Int64N(portRange)) }

// freePort returns a loopback port free for UDP and TCP.
func freePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		p := portBase + int(portSeq.Add(4)%portRange)
		addr := "127.0.0.1:" + strconv.Itoa(p)
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		l, err := net.Listen("tcp", addr)
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

// freeUDPPort returns a loopback port free for UDP (and TCP).
func freeUDPPort(t testing.TB) int { t.Helper(); return freePort(t) }

// freeTCPPort returns a loopback port free for TCP (and UDP).
func freeTCPPort(t testing.TB) int { t.Helper(); return freePort(t) }

//go:build linux && (amd64 || arm64)

package transport

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// sendQueueSize is how many datagrams a send queue holds before it sends
// them. A read batch of udpBatchSize datagrams makes about as many sends
// in a proxy (one each), a few more in a stateful one (100 Trying).
const sendQueueSize = 16

// sendQueueMax is the largest datagram a send queue copies; a larger one
// is sent at once (after the queued ones, to keep their order).
const sendQueueMax = 4096

// sendQueue gathers the datagrams a UDP socket sends while its read loop
// has received datagrams to handle, and sends them all with one
// sendmmsg(2) when the socket has no more to read (or the queue is full). In a proxy each received datagram
// makes one or two sends, so the system calls per message drop from two
// (recvmmsg shares one among the batch, sendto is one each) to about
// 2/batch; the kernel's per-datagram work (the loopback or NIC path) is
// the same as with sendto.
//
// A send queued returns no error: a datagram the kernel refuses at the
// flush (no route, a firewall rule) is logged and counted, and the
// transaction layer's retransmissions and timeouts deal with it as with a
// datagram lost on the way. So that a request to an unreachable
// destination still fails at once (RFC 3263 §4.3 failover, 503 from the
// proxy), a request is queued only to a destination this socket has
// already sent to without error (sentOK); the first one goes out at once.
type sendQueue struct {
	open atomic.Bool // the read loop is handling a batch; set under mu

	mu    sync.Mutex
	n     int // datagrams queued
	bufs  [sendQueueSize][]byte
	names [sendQueueSize]syscall.RawSockaddrInet6
	iovs  [sendQueueSize]syscall.Iovec
	hdrs  [sendQueueSize]mmsghdr
	dsts  [sendQueueSize]netip.AddrPort

	next    int // first datagram the flush has not sent
	fn      func(fd uintptr) bool
	flushes uint64 // sendmmsg calls that sent something
	sent    uint64 // datagrams sent by flushes
	dropped uint64 // datagrams the kernel refused at a flush

	// sentOK remembers destinations sent to without error, one per
	// slot of a small table indexed by a hash of the address.
	sentOK [256]netip.AddrPort
}

func newSendQueue() *sendQueue {
	q := new(sendQueue)
	for i := range q.hdrs {
		h := &q.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&q.names[i]))
		h.Iov = &q.iovs[i]
		h.Iovlen = 1
	}
	q.fn = q.sendmmsg
	return q
}

func okSlot(dst netip.AddrPort) int {
	a := dst.Addr().As16()
	h := uint32(dst.Port())
	for _, c := range a[8:] {
		h = h*31 + uint32(c)
	}
	return int(h % 256)
}

// known reports whether dst was sent to without error; markOK records it.
// Both run with mu held.
func (q *sendQueue) known(dst netip.AddrPort) bool { return q.sentOK[okSlot(dst)] == dst }
func (q *sendQueue) markOK(dst netip.AddrPort)     { q.sentOK[okSlot(dst)] = dst }

// beginBatch opens the queue for the datagrams the read loop has read.
func (u *udpSocket) beginBatch() {
	if q := u.out; q != nil && !q.open.Load() {
		q.mu.Lock()
		q.open.Store(true)
		q.mu.Unlock()
	}
}

// endBatch closes the queue and sends what it holds: the read loop calls
// it when the socket has nothing more to read, and when it ends.
func (u *udpSocket) endBatch() {
	if q := u.out; q != nil && q.open.Load() {
		q.mu.Lock()
		q.open.Store(false)
		u.flushLocked()
		q.mu.Unlock()
	}
}

// queue copies b for dst into the open queue and reports whether it did.
// request says b is a request (see sendQueue on why that matters). When
// the queue is closed, or b is not to be queued, it returns false with
// nothing queued (and the queued datagrams sent, so that b, sent next,
// keeps its place after them); the caller then sends b itself.
func (u *udpSocket) queue(b []byte, dst netip.AddrPort, request bool) bool {
	q := u.out
	if q == nil || !q.open.Load() {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.open.Load() {
		return false
	}
	if len(b) > sendQueueMax || (request && !q.known(dst)) {
		u.flushLocked()
		return false
	}
	i := q.n
	if !setSockaddr(&q.names[i], &q.hdrs[i].hdr.Namelen, u.addr, dst) {
		u.flushLocked()
		return false
	}
	q.bufs[i] = append(q.bufs[i][:0], b...)
	q.iovs[i] = syscall.Iovec{Base: unsafe.SliceData(q.bufs[i])}
	q.iovs[i].SetLen(len(b))
	q.dsts[i] = dst
	q.n++
	if q.n == sendQueueSize {
		u.flushLocked()
	}
	return true
}

// flushLocked sends the queued datagrams, with mu held.
func (u *udpSocket) flushLocked() {
	q := u.out
	if q.n == 0 {
		return
	}
	q.next = 0
	dropped := q.dropped
	for q.next < q.n {
		if err := u.rc.Write(q.fn); err != nil {
			// The socket is closed: what is left cannot go.
			q.dropped += uint64(q.n - q.next)
			break
		}
	}
	if d := q.dropped - dropped; d > 0 {
		u.l.log.Debug("udp: datagrams refused at a flush", "addr", u.addr, "count", d)
	}
	for i := range q.n {
		if cap(q.bufs[i]) > sendQueueMax {
			q.bufs[i] = nil
		}
	}
	q.n = 0
}

// sendmmsg is the RawConn.Write function of a flush: one system call for
// the datagrams from q.next on. A datagram the kernel refuses (sendmmsg
// then reports the error on the call that starts with it) is skipped.
// Raw, as udpSend.send is, for the same reason.
func (q *sendQueue) sendmmsg(fd uintptr) bool {
	for q.next < q.n {
		r, _, e := syscall.RawSyscall6(sysSENDMMSG, fd, uintptr(unsafe.Pointer(&q.hdrs[q.next])),
			uintptr(q.n-q.next), 0, 0, 0)
		switch e {
		case 0:
			for i := q.next; i < q.next+int(r); i++ {
				q.markOK(q.dsts[i])
			}
			q.flushes++
			q.sent += uint64(r)
			q.next += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // the send buffer is full: wait for the poller
		default:
			q.dropped++
			q.next++
		}
	}
	return true
}

// setSockaddr writes dst as the sockaddr a socket bound to local sends to,
// and its length; false when it cannot (an IPv6 zone, another family).
func setSockaddr(rsa *syscall.RawSockaddrInet6, n *uint32, local, dst netip.AddrPort) bool {
	a := dst.Addr()
	switch {
	case local.Addr().Is4() && a.Is4():
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		*sa = syscall.RawSockaddrInet4{Family: syscall.AF_INET, Port: htons(dst.Port()), Addr: a.As4()}
		*n = syscall.SizeofSockaddrInet4
	case local.Addr().Is6() && a.Zone() == "":
		*rsa = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Port: htons(dst.Port()), Addr: a.As16()}
		*n = syscall.SizeofSockaddrInet6
	default:
		return false
	}
	return true
}

// sentOK records that dst took a datagram sent at once without error.
func (u *udpSocket) sentOK(dst netip.AddrPort) {
	if q := u.out; q != nil {
		q.mu.Lock()
		q.markOK(dst)
		q.mu.Unlock()
	}
}

package media

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// Framing of the audio a Session sends: RFC 3551 §4.5 recommends 20 ms
// packets for G.711 by default.
const (
	// FrameDuration is the audio carried by one RTP packet.
	FrameDuration = 20 * time.Millisecond
	// FrameSamples is the number of samples (and G.711 bytes) in a frame.
	FrameSamples = SampleRate * 20 / 1000 // FrameDuration at SampleRate
)

// DefaultMaxRecord is how much received audio a Session keeps when
// Options.MaxRecord is zero.
const DefaultMaxRecord = time.Minute

// Errors a Session returns; callers branch on them with errors.Is.
var (
	ErrClosed   = errors.New("media: session closed")
	ErrNoRemote = errors.New("media: no remote address")
	ErrCodec    = errors.New("media: unsupported codec")
)

// rtpVersion is the only RTP version there is (RFC 3550 §5.1).
const rtpVersion = 2

// maxDatagram is the receive buffer: a 20 ms G.711 packet is 172 bytes, and
// anything longer than an Ethernet MTU is not audio we sent for.
const maxDatagram = 2048

// Options configure a Session. The zero value is ready to use.
type Options struct {
	// MaxRecord bounds the received audio the session keeps, in time at
	// SampleRate; audio beyond it is decoded, counted in
	// Stats.SamplesDropped and discarded. Zero means DefaultMaxRecord; a
	// negative value keeps nothing.
	MaxRecord time.Duration
}

// Stats counts a Session's traffic. Byte counts are RTP payload octets, as
// RTCP sender reports count them (RFC 3550 §6.4.1).
type Stats struct {
	PacketsSent     uint64
	BytesSent       uint64
	PacketsReceived uint64 // packets accepted from the remote
	BytesReceived   uint64
	// Lost is the number of packets missing from the received streams,
	// judged by gaps in sequence numbers (RFC 3550 §6.4.1, Appendix A.3):
	// expected minus received, never below zero, summed over each SSRC
	// the remote used.
	Lost uint64
	// Ignored counts datagrams dropped unread: from a source other than the
	// remote, not RTP version 2, malformed, or with a payload type other
	// than PCMU and PCMA (RTCP, telephone-event, comfort noise, ...).
	Ignored uint64
	// SamplesDropped counts received samples not kept because the
	// recording reached Options.MaxRecord.
	SamplesDropped uint64
}

// Session is one RTP audio stream over one UDP socket: Send transmits G.711
// frames to the remote address, and a background reader records what the
// remote sends to the same socket (symmetric RTP, RFC 4961). Its methods are
// safe for concurrent use; concurrent Sends are serialized.
type Session struct {
	conn      *net.UDPConn
	local     netip.AddrPort
	maxRecord int
	closed    chan struct{}
	loopDone  chan struct{}
	closeOnce sync.Once
	closeErr  error
	ssrc      uint32 // fixed for the session's life

	// Lock order: sendMu, then mu. The reader takes only mu, so a Send
	// sleeping between frames never delays reception.
	sendMu sync.Mutex // serializes Send; guards the fields below
	seq    uint16
	ts     uint32
	nextAt time.Time // when the frame after the last one sent was due
	pkt    []byte
	frame  []byte
	timer  *time.Timer

	mu     sync.Mutex // guards the fields below
	remote netip.AddrPort
	recv   []int16
	stats  Stats
	rx     rxStream
	lostRx uint64 // losses in earlier SSRCs
}

// rxStream tracks sequence numbers of the current incoming SSRC.
type rxStream struct {
	started  bool
	ssrc     uint32
	base     int64 // first sequence number
	max      int64 // highest extended sequence number (cycles in the high bits)
	received uint64
}

func (r *rxStream) lost() uint64 {
	if !r.started {
		return 0
	}
	expected := uint64(r.max - r.base + 1)
	if expected <= r.received {
		return 0
	}
	return expected - r.received
}

// Listen opens a UDP socket on laddr (e.g. 127.0.0.1:0 for an ephemeral
// port) and starts a Session on it.
func Listen(laddr netip.AddrPort, opts Options) (*Session, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
	if err != nil {
		return nil, fmt.Errorf("media: listen: %w", err)
	}
	return NewSession(conn, opts), nil
}

// NewSession starts a Session on conn, which it owns from now on: Close
// closes it. The remote address is unset until SetRemote.
func NewSession(conn *net.UDPConn, opts Options) *Session {
	maxRecord := opts.MaxRecord
	if maxRecord == 0 {
		maxRecord = DefaultMaxRecord
	}
	var seed [10]byte
	// RFC 3550 §5.1: SSRC, initial sequence number and timestamp are random.
	// crypto/rand.Read never fails (Go 1.24+).
	_, _ = rand.Read(seed[:])
	s := &Session{
		conn:      conn,
		local:     conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		maxRecord: max(0, int(maxRecord.Seconds()*SampleRate)),
		closed:    make(chan struct{}),
		loopDone:  make(chan struct{}),
		ssrc:      binary.BigEndian.Uint32(seed[0:4]),
		seq:       binary.BigEndian.Uint16(seed[4:6]),
		ts:        binary.BigEndian.Uint32(seed[6:10]),
	}
	go s.readLoop()
	return s
}

// LocalAddr returns the address the session's socket is bound to; it goes
// into the SDP c= and m= lines.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// SSRC returns the synchronization source identifier the session sends with.
func (s *Session) SSRC() uint32 { return s.ssrc }

// SetRemote sets the address to send to and the only source accepted. It
// may change during a call (a re-INVITE moving the media).
func (s *Session) SetRemote(addr netip.AddrPort) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	s.mu.Lock()
	s.remote = addr
	s.mu.Unlock()
}

// Remote returns the address set with SetRemote, or the zero AddrPort.
func (s *Session) Remote() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote
}

// Send encodes samples (8000 Hz) with codec and sends them to the remote in
// FrameDuration packets paced in real time: the first at once, the rest on
// a fixed schedule from it. The first packet of each Send starts a talkspurt
// and carries the marker bit (RFC 3551 §4.1); the timestamp advances by the
// wall-clock time between Sends. A short last frame is sent as it is. Send
// returns when the last packet is out, or early with ctx's error or
// ErrClosed.
func (s *Session) Send(ctx context.Context, samples []int16, codec Codec) error {
	if !codec.Valid() {
		return fmt.Errorf("%w: payload type %d", ErrCodec, codec)
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.alive(ctx); err != nil {
		return err
	}
	if !s.Remote().IsValid() {
		return ErrNoRemote
	}
	start := time.Now()
	if !s.nextAt.IsZero() && start.After(s.nextAt) {
		// Silence since the last talkspurt still advances the media clock.
		gap := start.Sub(s.nextAt)
		s.ts += uint32(int64(gap/time.Microsecond) * SampleRate / 1e6)
	}
	h := rtp.Header{
		Version:     rtpVersion,
		Marker:      true,
		PayloadType: codec.PayloadType(),
		SSRC:        s.ssrc,
	}
	for i := 0; len(samples) > 0; i++ {
		due := start.Add(time.Duration(i) * FrameDuration)
		if err := s.sleepUntil(ctx, due); err != nil {
			return err
		}
		pcm := samples[:min(FrameSamples, len(samples))]
		samples = samples[len(pcm):]
		remote := s.Remote()
		if !remote.IsValid() {
			return ErrNoRemote
		}
		h.SequenceNumber = s.seq
		h.Timestamp = s.ts
		s.frame = codec.AppendEncode(s.frame[:0], pcm)
		n, err := s.marshal(&h)
		if err != nil {
			return fmt.Errorf("media: marshal rtp: %w", err)
		}
		if _, err := s.conn.WriteToUDPAddrPort(s.pkt[:n], remote); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return ErrClosed
			}
			return fmt.Errorf("media: send rtp: %w", err)
		}
		s.seq++
		s.ts += uint32(len(pcm))
		s.nextAt = due.Add(FrameDuration)
		h.Marker = false
		s.mu.Lock()
		s.stats.PacketsSent++
		s.stats.BytesSent += uint64(len(pcm))
		s.mu.Unlock()
	}
	return nil
}

// marshal writes the packet with header h and payload s.frame into s.pkt.
func (s *Session) marshal(h *rtp.Header) (int, error) {
	p := rtp.Packet{Header: *h, Payload: s.frame}
	if size := p.MarshalSize(); cap(s.pkt) < size {
		s.pkt = make([]byte, size)
	}
	s.pkt = s.pkt[:cap(s.pkt)]
	return p.MarshalTo(s.pkt)
}

// alive returns ctx's error or ErrClosed if either is done.
func (s *Session) alive(ctx context.Context) error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	return ctx.Err()
}

// sleepUntil waits until t, or returns early with ctx's error or ErrClosed.
// It runs under sendMu.
func (s *Session) sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return s.alive(ctx)
	}
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	select {
	case <-s.timer.C:
		return nil
	case <-ctx.Done():
		s.timer.Stop()
		return ctx.Err()
	case <-s.closed:
		s.timer.Stop()
		return ErrClosed
	}
}

// readLoop records incoming RTP until the socket is closed. It is the
// session's only goroutine.
func (s *Session) readLoop() {
	defer close(s.loopDone)
	buf := make([]byte, maxDatagram)
	var p rtp.Packet
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			// An unconnected UDP socket reports no ICMP errors, so any
			// error here is the socket going away.
			return
		}
		s.receive(buf[:n], from, &p)
	}
}

// receive accepts one datagram if it is G.711 RTP from the remote.
func (s *Session) receive(b []byte, from netip.AddrPort, p *rtp.Packet) {
	// Cheap checks first: a flood of junk should not reach the parser.
	ok := len(b) >= 12 && b[0]>>6 == rtpVersion && Codec(b[1]&0x7F).Valid() &&
		p.Unmarshal(b) == nil
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || !s.remote.IsValid() || from != s.remote {
		s.stats.Ignored++
		return
	}
	s.track(p.SSRC, p.SequenceNumber)
	s.stats.PacketsReceived++
	s.stats.BytesReceived += uint64(len(p.Payload))
	payload := p.Payload
	if room := s.maxRecord - len(s.recv); len(payload) > room {
		s.stats.SamplesDropped += uint64(len(payload) - room)
		payload = payload[:room]
	}
	s.recv = Codec(p.PayloadType).AppendDecode(s.recv, payload)
}

// track updates loss accounting for a packet (RFC 3550 Appendix A.1, A.3,
// without the probation and resynchronisation steps). A new SSRC starts a
// new stream. It runs under mu.
func (s *Session) track(ssrc uint32, seq uint16) {
	r := &s.rx
	if !r.started || r.ssrc != ssrc {
		s.lostRx += r.lost()
		*r = rxStream{started: true, ssrc: ssrc, base: int64(seq), max: int64(seq)}
	} else if d := int16(seq - uint16(r.max)); d > 0 {
		// Sequence numbers wrap; a step forward of less than half the
		// space is progress, anything else is late or duplicate.
		r.max += int64(d)
	}
	r.received++
}

// Received returns a copy of the audio recorded so far, decoded to 8000 Hz
// linear PCM in order of arrival. Gaps are not filled.
func (s *Session) Received() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.recv...)
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Lost = s.lostRx + s.rx.lost()
	return st
}

// Close closes the socket, interrupts a Send in progress and waits for the
// reader to exit. Received and Stats still work afterwards. Close is
// idempotent.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.closeErr = s.conn.Close()
		<-s.loopDone
	})
	return s.closeErr
}

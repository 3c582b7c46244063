package transport

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/sipd/sipd/sip"
)

// Config sets the limits and identity of a Layer. The zero value is usable:
// every field left zero takes the default its comment names.
type Config struct {
	// MaxMessageSize is the largest message accepted, on any transport;
	// sip.DefaultMaxMessageSize (65535) when zero. Larger datagrams are
	// dropped; a larger message on a stream closes the connection (on
	// WebSocket with a Close frame, status 1009, as soon as a frame header
	// announces it).
	MaxMessageSize int

	// MaxConns bounds the stream connections (TCP, TLS, WS, WSS),
	// accepted and dialed together; 10000 when zero. An accepted
	// connection over the limit is closed at once; a dial over it fails
	// with ErrTooManyConns.
	MaxConns int

	// MaxConnsPerIP bounds the accepted stream connections from one remote
	// IP address; 100 when zero.
	MaxConnsPerIP int

	// IdleTimeout closes a stream connection that has carried nothing,
	// in either direction, for this long; 5 minutes when zero. RFC 5626
	// CRLF keep-alives count as traffic. RFC 3261 §18 asks for at least
	// 64*T1 (32 s).
	IdleTimeout time.Duration

	// ReadTimeout bounds the time from the first byte of a stream message
	// to its last (for WebSocket, from a frame's first byte to the end of
	// its message), a TLS handshake and a WebSocket opening handshake
	// received; 32 seconds when zero.
	ReadTimeout time.Duration

	// WriteTimeout bounds a write on a stream connection, and a dial with
	// its TLS and WebSocket handshakes; 10 seconds when zero.
	WriteTimeout time.Duration

	// TLSConfig is used for TLS and WSS listeners (it needs a
	// certificate, see LoadTLSConfig) and for dialing TLS and WSS
	// connections (RootCAs; nil means the system roots). Listen("tls", ...)
	// and Listen("wss", ...) fail when it is nil.
	TLSConfig *tls.Config

	// WSPath is the resource name (the HTTP request path) of the opening
	// handshake on WS and WSS connections this layer dials (RFC 6455
	// §3, §4.1); "/" when empty. WS and WSS listeners accept any path.
	WSPath string

	// MTU is the path MTU assumed for UDP; 1500 when zero. A request
	// larger than MTU-200 bytes goes over TCP instead of UDP unless the
	// Target is pinned (RFC 3261 §18.1.1).
	MTU int

	// Hosts are further names (or IP addresses) that responses may carry
	// in their top Via sent-by and still be ours (RFC 3261 §18.1.2),
	// besides the listeners' addresses: a DNS name, a NAT's public IP.
	// The port must still be a listener's.
	Hosts []string

	// Logger receives the layer's logs, with component=transport; nil
	// discards them.
	Logger *slog.Logger

	// UDPReadBuffer is the socket receive buffer (SO_RCVBUF) asked for on
	// UDP sockets, so that bursts are not dropped; 4 MiB when zero. The
	// kernel may grant less (net.core.rmem_max on Linux).
	UDPReadBuffer int

	// UDPWriteBuffer is the socket send buffer (SO_SNDBUF) asked for on
	// UDP sockets; 4 MiB when zero. The kernel may grant less
	// (net.core.wmem_max on Linux).
	UDPWriteBuffer int
}

// Defaults of Config's zero fields.
const (
	DefaultMaxConns       = 10000
	DefaultMaxConnsPerIP  = 100
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultReadTimeout    = 32 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMTU            = 1500
	DefaultUDPReadBuffer  = 4 << 20
	DefaultUDPWriteBuffer = 4 << 20
)

// maxUDPPayload is the largest UDP payload over IPv4 (65535 - 20 - 8).
const maxUDPPayload = 65507

func (c Config) withDefaults() Config {
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = sip.DefaultMaxMessageSize
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MTU <= 200 {
		c.MTU = DefaultMTU
	}
	if c.UDPReadBuffer <= 0 {
		c.UDPReadBuffer = DefaultUDPReadBuffer
	}
	if c.UDPWriteBuffer <= 0 {
		c.UDPWriteBuffer = DefaultUDPWriteBuffer
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// LoadTLSConfig reads a PEM certificate (chain) and private key, as
// GenerateSelfSigned writes them, into a TLS config for Config.TLSConfig.
// To dial peers with private certificates, add them to RootCAs.
func LoadTLSConfig(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

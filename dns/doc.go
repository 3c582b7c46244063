// Package dns locates SIP servers (RFC 3263): it turns a SIP or SIPS URI
// into the ordered list of transport targets — transport, IP address and
// port — a request for it may be sent to, trying them in that order on
// failure (RFC 3263 §4.3).
//
// A numeric host is used as it is; a host name with a port is looked up
// with A and AAAA; a host name without one with SRV (_sip._udp,
// _sip._tcp, _sips._tcp, RFC 2782 ordering by priority and weight), and
// without SRV records with A and AAAA at the transport's default port.
// NAPTR (RFC 3263 §4.1) is not done yet: with no NAPTR the client queries
// SRV for the transports it supports, which is what RFC 3263 asks for.
//
// A Resolver queries the servers it is given (default: those of
// /etc/resolv.conf) with github.com/miekg/dns, and keeps answers, negative
// ones too, in a bounded cache for their TTL.
package dns

// Package sip is sipd's SIP message layer: it turns bytes into requests and
// responses and back (RFC 3261 §7, §19, §20, §25), with no I/O of its own.
//
// Parsing is lazy and cheap. Parse copies a datagram once, checks the start
// line, splits the header section into fields and reads Content-Length;
// every other field stays a view of that copy until it is read, when the
// typed accessors (TopVia, CSeq, From, To, Contacts, ...) parse it. The
// few fields a transaction lookup needs are cached after their first read.
// Framer cuts messages out of a TCP or TLS byte stream by Content-Length.
//
// Serialization keeps what it can: a message nobody changed is written back
// byte for byte, untouched header lines keep their spelling, and
// Content-Length always matches the body. Builders make responses from
// requests (RFC 3261 §8.2.6) and CANCELs (§9.1).
//
// Malformed input gives a *ParseError that names the header and the flaw and
// carries the status a server answers with (400, 505, 513, ...), so a
// server can say what was wrong. Request.Validate adds the checks of
// RFC 3261 §8.2 and §16.3 that decide whether a request may be processed;
// the RFC 4475 torture messages are the test corpus.
package sip

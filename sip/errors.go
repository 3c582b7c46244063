package sip

import (
	"errors"
	"strconv"
)

// ParseError reports malformed input. A server answers it with Status
// (400 Bad Request unless the flaw calls for another code, such as 505 for
// an unknown SIP version) and Reason as the reason phrase, so the sender learns
// what was wrong.
type ParseError struct {
	// Header is the header field name the flaw is in, or "" for the start
	// line, the framing or the message as a whole.
	Header string
	// Offset is the byte offset of the flaw in the message, or -1.
	Offset int
	// Reason is a short lowercase phrase, fit for a reason phrase.
	Reason string
	// Status is the SIP status code the flaw calls for; 0 means 400.
	Status int
}

func (e *ParseError) Error() string {
	s := "sip: " + e.Reason
	if e.Header != "" {
		s += " in " + e.Header
	}
	if e.Offset >= 0 {
		s += " at offset " + strconv.Itoa(e.Offset)
	}
	return s
}

// StatusCode is the response code a server sends for this error.
func (e *ParseError) StatusCode() int {
	if e.Status == 0 {
		return StatusBadRequest
	}
	return e.Status
}

// ReasonPhrase is the reason phrase for the error response: the flaw, named.
func (e *ParseError) ReasonPhrase() string {
	if e.Header != "" {
		return "Bad " + e.Header + ": " + e.Reason
	}
	if e.StatusCode() == StatusBadRequest {
		return "Bad Request: " + e.Reason
	}
	return StatusText(e.StatusCode())
}

func perr(header string, off int, reason string) *ParseError {
	return &ParseError{Header: header, Offset: off, Reason: reason}
}

// StatusError is an error that carries the SIP status a request should be
// answered with. Handlers return it; the server turns it into the response.
type StatusError struct {
	Code   int
	Reason string // reason phrase; StatusText(Code) when empty
	Err    error  // the cause, if any
}

func (e *StatusError) Error() string {
	s := "sip: " + strconv.Itoa(e.Code) + " " + e.ReasonPhrase()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *StatusError) Unwrap() error { return e.Err }

// ReasonPhrase is Reason, or the standard text for Code.
func (e *StatusError) ReasonPhrase() string {
	if e.Reason != "" {
		return e.Reason
	}
	return StatusText(e.Code)
}

// StatusOf returns the status code and reason phrase an error calls for:
// a *StatusError's or *ParseError's own, 500 otherwise.
func StatusOf(err error) (int, string) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code, se.ReasonPhrase()
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.StatusCode(), pe.ReasonPhrase()
	}
	return StatusInternalServerError, StatusText(StatusInternalServerError)
}

// Errors a caller may branch on.
var (
	// ErrTooLarge: the message exceeds the configured size limit.
	ErrTooLarge = &ParseError{Offset: -1, Reason: "message too large", Status: StatusMessageTooLarge}
	// ErrIncomplete: a datagram ends before its Content-Length says, or a
	// header section has no end.
	ErrIncomplete = &ParseError{Offset: -1, Reason: "message incomplete"}
	// ErrNoContentLength: a message on a stream has no Content-Length, so
	// its end cannot be found (RFC 3261 §18.3).
	ErrNoContentLength = &ParseError{Header: "Content-Length", Offset: -1, Reason: "missing on stream transport"}
	// ErrHeaderNotFound: a header field asked for is absent.
	ErrHeaderNotFound = errors.New("sip: header not found")
)

package server

import (
	"context"
	"errors"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// Handler serves one request in its server transaction. It answers by
// sending a final response through tx.Respond, or by returning an error:
// a *sip.StatusError (or *sip.ParseError) becomes the response with that
// status, any other error a 500. Returning ErrNotHandled passes the request
// to the next handler of a Chain; returning ErrAnswerLater keeps the
// request and frees the server's worker, the handler answering through tx
// afterwards. The server answers every request exactly once: if a handler
// returns nil without a final response, the server sends 500 and logs the
// handler's bug.
//
// ServeSIP runs on one of the server's workers, whose number is fixed
// (Config.Workers): a handler that waits for the network — a proxy waiting
// for a callee to answer — returns ErrAnswerLater rather than block. ctx is
// the server's: it ends when the server closes, not when ServeSIP returns.
type Handler interface {
	ServeSIP(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error

// ServeSIP calls f.
func (f HandlerFunc) ServeSIP(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
	return f(ctx, tx, req)
}

// ErrNotHandled is returned by a handler that leaves the request to the
// next one (a registrar given an INVITE, say).
var ErrNotHandled = errors.New("server: not handled")

// ErrAnswerLater is returned by a handler that has taken responsibility
// for answering the request through tx after ServeSIP returns: the server
// must not answer it, and the worker is free for the next request. Unlike
// nil, it is not a bug when no final response has gone out yet.
//
// A handler returning it MUST guarantee that a final response goes out
// through tx later, on every path and within a bounded time, with no help
// from the server: for instance a proxy answers an INVITE with the best
// response of its branches, with 408 when its Timer C or the client
// transactions' Timer B fire (RFC 3261 §16.7, §16.8), and with 487 when the
// request is cancelled (§16.10). Only when the server closes (ctx ends) may
// the request stay unanswered. The request must not be passed to another
// handler after ErrAnswerLater. Chain returns it as it is.
var ErrAnswerLater = errors.New("server: answered later")

// Chain runs handlers in order until one does not return ErrNotHandled.
// When all pass, the chain returns ErrNotHandled too.
func Chain(handlers ...Handler) Handler {
	return HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
		for _, h := range handlers {
			if err := h.ServeSIP(ctx, tx, req); !errors.Is(err, ErrNotHandled) {
				return err
			}
		}
		return ErrNotHandled
	})
}

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
// to the next handler of a Chain. The server answers every request exactly
// once: if a handler returns nil without a final response, the server
// sends 500 and logs the handler's bug.
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

// Package server wires sipd together: transport listeners feed the
// transaction layer, whose new server transactions go through a bounded
// queue to workers that run the request pipeline, a Chain of Handlers
// (OPTIONS, registrar, proxy, ...). It is the one place that turns a
// handler's error, or its silence, into the final response, so that every
// request is answered exactly once — unless the handler returned
// ErrAnswerLater and answers through the transaction itself, later, freeing
// its worker meanwhile (a proxy while the callee rings); under overload it
// answers new work 503.
package server

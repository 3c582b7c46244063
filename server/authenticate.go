package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// Authenticate challenges requests that claim to come from one of our
// domains (the From host) with 407 Proxy Authentication Required until they
// carry valid Proxy-Authorization credentials (RFC 3261 §22.3), as
// Kamailio's default script does with proxy_authorize for local callers.
// REGISTER is left to the registrar (401, §22.2); ACK and CANCEL are never
// challenged (§22.1); requests from other domains pass. A request that
// passes goes to the next handler.
//
// Nor is a request within a dialog that carries a Route (a To tag, §12.2.1.1)
// challenged: it follows the route set the proxy itself record-routed when
// the dialog was set up, and the dialog-creating request was authenticated
// then. Kamailio's default script does the same (has_totag, loose_route,
// relay). baresip, for one, answers a 407 to its re-INVITE, but other UAs
// end the call on it, and each challenge costs a round trip mid-call.
func Authenticate(a *auth.Authenticator, domains []string) Handler {
	return HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
		switch req.Method {
		case sip.MethodRegister, sip.MethodAck, sip.MethodCancel:
			return ErrNotHandled
		}
		if req.Header.ToTag() != "" && req.Header.Has("Route") {
			return ErrNotHandled
		}
		from, err := req.From()
		if err != nil {
			return err
		}
		realm := strings.ToLower(from.URI.Host)
		if !from.URI.IsSIP() || !slices.Contains(domains, realm) {
			return ErrNotHandled
		}
		res, err := a.Check(ctx, req, realm, true)
		if errors.Is(err, auth.ErrNoChallenge) {
			return ErrNotHandled
		}
		if err != nil {
			return fmt.Errorf("server: authenticating: %w", err)
		}
		if res.OK {
			// A user may only use their own identity (Kamailio's
			// check_from): the From user is the authenticated one.
			if from.URI.UserUnescaped() != res.Username {
				return &sip.StatusError{Code: sip.StatusForbidden, Reason: "Forbidden - From is not the authenticated user"}
			}
			return ErrNotHandled
		}
		if res.Reason == auth.ReasonMalformed {
			return &sip.StatusError{Code: sip.StatusBadRequest, Reason: "Bad Proxy-Authorization"}
		}
		return tx.Respond(a.Challenge(req, realm, true, res.Stale))
	})
}

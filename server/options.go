package server

import (
	"context"
	"strings"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// Options answers OPTIONS addressed to the server itself, that is with no
// user part in the Request-URI, as Kamailio's options module does: 200 with
// Allow, Accept, Supported and Accept-Language (RFC 3261 §11.2). A Require
// naming an option the server lacks gets 420 with Unsupported (§8.2.2.3).
// OPTIONS for a user, and other methods, go to the next handler.
func Options(allow, supported []string) Handler {
	allowHdr := strings.Join(allow, ", ")
	supportedHdr := strings.Join(supported, ", ")
	return HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
		if req.Method != sip.MethodOptions || req.URI.User != "" {
			return ErrNotHandled
		}
		var resp *sip.Response
		if bad := unsupported(req, supported); len(bad) > 0 {
			resp = sip.NewResponse(req, sip.StatusBadExtension, "")
			resp.Add("Unsupported", strings.Join(bad, ", "))
		} else {
			resp = sip.NewResponse(req, sip.StatusOK, "")
			resp.Add("Allow", allowHdr)
			resp.Add("Accept", "application/sdp")
			resp.Add("Accept-Language", "en")
			if supportedHdr != "" {
				resp.Add("Supported", supportedHdr)
			}
		}
		if req.ToTag() == "" {
			resp.SetToTag(NewTag())
		}
		return tx.Respond(resp)
	})
}

// unsupported returns the option tags in Require that are not in supported.
func unsupported(req *sip.Request, supported []string) []string {
	var bad []string
	for _, tag := range req.OptionTags("Require") {
		found := false
		for _, s := range supported {
			if strings.EqualFold(s, tag) {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, tag)
		}
	}
	return bad
}

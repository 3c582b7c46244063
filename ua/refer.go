package ua

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/sipd/sipd/dialog"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
)

// ReferTarget returns target with a Replaces header (RFC 3891 §5): the
// Refer-To URI of an attended transfer that has the transferee replace the
// dialog named by replaces (see Call.Replaces).
func ReferTarget(target sip.URI, replaces string) sip.URI {
	target.Headers = "Replaces=" + sip.EscapeHeader(replaces)
	return target
}

// Refer asks the peer to call target (RFC 3515): a REFER with Refer-To
// and Referred-By. It waits for the final NOTIFY of the implicit
// subscription and returns the status line its message/sipfrag body
// reports (200 when the transfer succeeded). A REFER refused is a
// *ResponseError.
func (c *Call) Refer(ctx context.Context, target sip.URI) (int, error) {
	for {
		select {
		case <-c.referCh:
			continue
		default:
		}
		break
	}
	by := c.u.aor
	_, err := c.request(ctx, sip.MethodRefer, func(r *sip.Request) {
		r.Add("Refer-To", (&sip.Address{URI: target}).String())
		r.Add("Referred-By", by.String())
	})
	if err != nil {
		return 0, err
	}
	select {
	case code := <-c.referCh:
		return code, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.done:
		// The peer may hang up as soon as the transfer succeeds; a final
		// NOTIFY may have come just before.
		select {
		case code := <-c.referCh:
			return code, nil
		default:
			return 0, ErrCallEnded
		}
	}
}

// handleRefer accepts a REFER (RFC 3515 §2.4.2), calls the target and
// reports on the implicit subscription with NOTIFY (§2.4.4).
func (c *Call) handleRefer(d *dialog.Dialog, tx *transaction.ServerTx, req *sip.Request) {
	if req.Count("Refer-To") != 1 {
		respond(tx, req, sip.StatusBadRequest, "Need one Refer-To", nil)
		return
	}
	to, err := req.ReferTo()
	if err != nil || !to.URI.IsSIP() {
		respond(tx, req, sip.StatusBadRequest, "Bad Refer-To", nil)
		return
	}
	if f := c.u.cfg.OnRefer; f != nil && !f(c, to) {
		respond(tx, req, sip.StatusDecline, "", nil)
		return
	}
	cs, _ := req.CSeq()
	respond(tx, req, sip.StatusAccepted, "", func(r *sip.Response) {
		r.Add("Contact", (&sip.Address{URI: d.LocalContact()}).String())
	})
	referredBy := req.Get("Referred-By")
	c.u.goAsync(func() {
		ctx, cancel := context.WithTimeout(c.u.ctx, 3*time.Minute)
		defer cancel()
		id := strconv.FormatUint(uint64(cs.Seq), 10)
		c.notifyRefer(ctx, id, sip.StatusTrying, "Trying", false)
		opts := &InviteOptions{ReferredBy: referredBy}
		uri := to.URI
		for _, h := range strings.Split(uri.Headers, "&") {
			name, value, _ := strings.Cut(h, "=")
			if strings.EqualFold(name, "Replaces") {
				if v, ok := sip.Unescape(value); ok {
					opts.Replaces = v
				}
			}
		}
		uri.Headers = ""
		nc, err := c.u.Invite(ctx, uri, opts)
		code, reason := sip.StatusOK, "OK"
		if err != nil {
			code, reason = StatusCode(err), ""
			if code == 0 {
				code = sip.StatusRequestTimeout
			}
			reason = sip.StatusText(code)
		}
		c.notifyRefer(ctx, id, code, reason, true)
		c.u.emit(Event{Kind: EventRefer, Call: c, Request: req, NewCall: nc, Status: code})
	})
}

// notifyRefer sends one NOTIFY of the refer subscription (RFC 3515
// §2.4.4, §2.4.5): a message/sipfrag status line; the final one
// terminates the subscription.
func (c *Call) notifyRefer(ctx context.Context, id string, code int, reason string, final bool) {
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	c.request(ctx, sip.MethodNotify, func(r *sip.Request) {
		r.Add("Event", "refer;id="+id)
		r.Add("Subscription-State", state)
		r.Add("Content-Type", "message/sipfrag;version=2.0")
		r.Body = []byte("SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n")
	})
}

// handleNotify takes a NOTIFY of the subscription a REFER of ours made.
func (c *Call) handleNotify(tx *transaction.ServerTx, req *sip.Request) {
	ev, err := req.Event()
	if err != nil || !strings.EqualFold(ev.Type, "refer") {
		// RFC 6665 §4.1.3: an event package we did not subscribe to.
		respond(tx, req, sip.StatusBadEvent, "", nil)
		return
	}
	ss, err := req.SubscriptionState()
	if err != nil {
		respond(tx, req, sip.StatusBadRequest, "Bad Subscription-State", nil)
		return
	}
	code := sipfragStatus(req.Body)
	respond(tx, req, sip.StatusOK, "", nil)
	c.u.emit(Event{Kind: EventNotify, Call: c, Request: req, Status: code})
	if strings.EqualFold(ss.State, "terminated") {
		select {
		case c.referCh <- code:
		default:
		}
	}
}

// sipfragStatus returns the status code of a message/sipfrag status line
// (RFC 3420), or 0.
func sipfragStatus(b []byte) int {
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return 0
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 100 || n > 699 {
		return 0
	}
	return n
}

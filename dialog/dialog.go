package dialog

import (
	"sync"

	"github.com/sipd/sipd/sip"
)

// ID identifies a dialog (RFC 3261 §12): the Call-ID and the local and
// remote tags, as seen from this UA. It is comparable and keys a Set.
type ID struct {
	CallID    string
	LocalTag  string
	RemoteTag string
}

// State is the state of a dialog (RFC 3261 §12).
type State uint8

// The states of a dialog. An early dialog comes from a provisional
// response, a confirmed one from a 2xx (§12.1).
const (
	Early State = iota + 1
	Confirmed
	Terminated
)

func (s State) String() string {
	switch s {
	case Early:
		return "early"
	case Confirmed:
		return "confirmed"
	case Terminated:
		return "terminated"
	}
	return "unknown"
}

// Dialog is the state of one dialog (RFC 3261 §12): its ID, the local and
// remote URIs with their tags, the local and remote sequence numbers, the
// remote target, the route set and the secure flag, plus the local Contact
// this UA puts in its target refresh requests.
//
// A Dialog is safe for concurrent use: its state is read through methods
// that take its lock and return copies.
type Dialog struct {
	id ID // fixed at creation; read without the lock

	mu           sync.Mutex
	state        State
	localURI     sip.Address // From of our requests, with the local tag
	remoteURI    sip.Address // To of our requests, with the remote tag
	localSeq     uint32
	localSeqSet  bool
	remoteSeq    uint32
	remoteSeqSet bool
	remoteTarget sip.URI
	routeSet     []sip.Address
	secure       bool
	localContact sip.URI

	// The CSeq of the request that created a UAC dialog: responses to it
	// confirm or end an early dialog (§13.2.2.4, §12.3).
	createSeq    uint32
	createMethod string
}

// NewUAC makes the dialog of a UAC from the request it sent and a response
// to it that creates a dialog: a 101-199 with a To tag gives an early
// dialog, a 2xx a confirmed one (RFC 3261 §12.1.2). The route set is the
// response's Record-Route in reverse order, the remote target the
// response's Contact, the local sequence number the request's CSeq and the
// remote one empty. The local Contact is the request's, if any. The secure
// flag is set when the Request-URI is a SIPS URI (which must be sent over
// TLS); SetSecure corrects it.
func NewUAC(req *sip.Request, resp *sip.Response) (*Dialog, error) {
	if resp.StatusCode <= 100 || resp.StatusCode >= 300 {
		return nil, ErrNotDialogResponse
	}
	callID := req.CallID()
	if callID == "" {
		return nil, ErrNoCallID
	}
	if resp.CallID() != callID {
		return nil, ErrMismatch
	}
	from, err := req.From()
	if err != nil {
		return nil, err
	}
	to, err := resp.To()
	if err != nil {
		return nil, err
	}
	if from.Tag() == "" || to.Tag() == "" {
		return nil, ErrNoTag
	}
	if resp.FromTag() != from.Tag() {
		return nil, ErrMismatch
	}
	cs, err := req.CSeq()
	if err != nil {
		return nil, err
	}
	if rcs, err := resp.CSeq(); err != nil {
		return nil, err
	} else if rcs != cs {
		return nil, ErrMismatch
	}
	target, err := contactURI(&resp.Header)
	if err != nil {
		return nil, err
	}
	rr, err := resp.RecordRoutes()
	if err != nil {
		return nil, err
	}
	d := &Dialog{
		id:           ID{CallID: callID, LocalTag: from.Tag(), RemoteTag: to.Tag()},
		state:        Early,
		localURI:     from,
		remoteURI:    to,
		localSeq:     cs.Seq,
		localSeqSet:  true,
		remoteTarget: target,
		routeSet:     reversed(rr),
		secure:       req.URI.Scheme == "sips",
		createSeq:    cs.Seq,
		createMethod: cs.Method,
	}
	if resp.IsSuccess() {
		d.state = Confirmed
	}
	if c, err := contactURI(&req.Header); err == nil {
		d.localContact = c
	}
	return d, nil
}

// NewUAS makes the dialog of a UAS from the request it received, the tag
// it puts in the To of its responses and the Contact of its responses
// (RFC 3261 §12.1.1). The route set is the request's Record-Route in
// order, the remote target the request's Contact, the remote sequence
// number the request's CSeq and the local one empty. The dialog starts
// early; Confirm it when the 2xx is sent, Terminate it when a final
// response of 300 or above is (§12.3). The secure flag is set when the
// Request-URI is a SIPS URI; §12.1.1 also asks that the request came over
// TLS, which only the caller knows: SetSecure corrects it.
func NewUAS(req *sip.Request, localTag string, contact sip.URI) (*Dialog, error) {
	if localTag == "" {
		return nil, ErrNoTag
	}
	callID := req.CallID()
	if callID == "" {
		return nil, ErrNoCallID
	}
	from, err := req.From()
	if err != nil {
		return nil, err
	}
	if from.Tag() == "" {
		return nil, ErrNoTag
	}
	to, err := req.To()
	if err != nil {
		return nil, err
	}
	if t := to.Tag(); t != "" && t != localTag {
		return nil, ErrMismatch
	}
	to.Params = to.Params.Set("tag", localTag)
	cs, err := req.CSeq()
	if err != nil {
		return nil, err
	}
	target, err := contactURI(&req.Header)
	if err != nil {
		return nil, err
	}
	rr, err := req.RecordRoutes()
	if err != nil {
		return nil, err
	}
	return &Dialog{
		id:           ID{CallID: callID, LocalTag: localTag, RemoteTag: from.Tag()},
		state:        Early,
		localURI:     to,
		remoteURI:    from,
		remoteSeq:    cs.Seq,
		remoteSeqSet: true,
		remoteTarget: target,
		routeSet:     rr,
		secure:       req.URI.Scheme == "sips",
		localContact: contact,
	}, nil
}

// contactURI returns the URI of the first Contact of h.
func contactURI(h *sip.Header) (sip.URI, error) {
	cs, err := h.Contacts()
	if err != nil {
		return sip.URI{}, err
	}
	if len(cs) == 0 || cs[0].Wildcard {
		return sip.URI{}, ErrNoContact
	}
	return cs[0].URI, nil
}

func reversed(a []sip.Address) []sip.Address {
	if len(a) == 0 {
		return nil
	}
	r := make([]sip.Address, len(a))
	for i := range a {
		r[len(a)-1-i] = a[i]
	}
	return r
}

// ID returns the dialog ID.
func (d *Dialog) ID() ID { return d.id }

// State returns the dialog's state.
func (d *Dialog) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// LocalURI returns the local URI with the local tag: the From of the
// requests this UA sends in the dialog.
func (d *Dialog) LocalURI() sip.Address {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.localURI
}

// RemoteURI returns the remote URI with the remote tag: the To of the
// requests this UA sends in the dialog.
func (d *Dialog) RemoteURI() sip.Address {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteURI
}

// LocalSeq returns the local sequence number and whether it is set; a UAS
// dialog's is empty until it sends its first request (§12.1.1).
func (d *Dialog) LocalSeq() (uint32, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.localSeq, d.localSeqSet
}

// RemoteSeq returns the remote sequence number and whether it is set; a UAC
// dialog's is empty until the peer sends a request (§12.1.2).
func (d *Dialog) RemoteSeq() (uint32, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteSeq, d.remoteSeqSet
}

// RemoteTarget returns the remote target: the peer's Contact URI.
func (d *Dialog) RemoteTarget() sip.URI {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteTarget
}

// RouteSet returns a copy of the route set, in the order of the Route
// values of the requests this UA sends.
func (d *Dialog) RouteSet() []sip.Address {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.routeSet) == 0 {
		return nil
	}
	return append([]sip.Address(nil), d.routeSet...)
}

// Secure reports the secure flag: every request of the dialog goes over TLS
// (RFC 3261 §12.1.1, §26.2.2).
func (d *Dialog) Secure() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.secure
}

// SetSecure sets the secure flag, for the caller that knows whether the
// request creating the dialog went over TLS.
func (d *Dialog) SetSecure(secure bool) {
	d.mu.Lock()
	d.secure = secure
	d.mu.Unlock()
}

// LocalContact returns the Contact URI this UA puts in its target refresh
// requests.
func (d *Dialog) LocalContact() sip.URI {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.localContact
}

// SetLocalContact changes the local Contact, as a UA that moves does before
// a target refresh (RFC 6141 §4.4, §4.5).
func (d *Dialog) SetLocalContact(u sip.URI) {
	d.mu.Lock()
	d.localContact = u
	d.mu.Unlock()
}

// Confirm moves an early dialog to the confirmed state, as a UAS does when
// it sends the 2xx (RFC 3261 §12.1.1). A confirmed or terminated dialog
// stays as it is.
func (d *Dialog) Confirm() {
	d.mu.Lock()
	if d.state == Early {
		d.state = Confirmed
	}
	d.mu.Unlock()
}

// Terminate ends the dialog: after a BYE (§15), a non-2xx final response
// to the request that created it (§12.3), or a timeout.
func (d *Dialog) Terminate() {
	d.mu.Lock()
	d.state = Terminated
	d.mu.Unlock()
}

// Refresh replaces the remote target, as RFC 6141 §4.6 asks of a UA that
// accepts a target refresh request (re-INVITE, UPDATE, ...): call it when
// sending the 2xx or reliable 1xx, with the URI of the request's Contact,
// and not when rejecting the request.
func (d *Dialog) Refresh(target sip.URI) {
	d.mu.Lock()
	d.remoteTarget = target
	d.mu.Unlock()
}

// IsTargetRefresh reports whether a method is a target refresh request:
// INVITE (RFC 3261 §12.2), UPDATE (RFC 3311 §5.1), SUBSCRIBE and NOTIFY
// (RFC 6665 §4.1, §4.2).
func IsTargetRefresh(method string) bool {
	switch method {
	case sip.MethodInvite, sip.MethodUpdate, sip.MethodSubscribe, sip.MethodNotify:
		return true
	}
	return false
}

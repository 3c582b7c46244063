package transaction

import (
	"strconv"

	"github.com/sipd/sipd/sip"
)

// newAckForFailure builds the ACK an INVITE client transaction sends for a
// non-2xx final response, as RFC 3261 §17.1.1.3 says: the Request-URI,
// Call-ID and From of the INVITE, the To of the response (with the tag the
// UAS added), a single Via equal to the INVITE's top Via, the CSeq number
// of the INVITE with the method ACK, and the INVITE's Route header fields.
// No body (a body in this ACK is NOT RECOMMENDED).
func newAckForFailure(inv *sip.Request, resp *sip.Response) *sip.Request {
	ack := sip.NewRequest(sip.MethodAck, inv.URI)
	if v, err := inv.TopVia(); err == nil {
		ack.Add("Via", v.String())
	}
	for r := range inv.Lines("Route") {
		ack.Add("Route", r)
	}
	ack.Add("Max-Forwards", "70")
	ack.Add("From", inv.Get("From"))
	ack.Add("To", resp.Get("To"))
	ack.Add("Call-ID", inv.CallID())
	var seq uint32
	if cs, err := inv.CSeq(); err == nil {
		seq = cs.Seq
	}
	ack.Add("CSeq", strconv.FormatUint(uint64(seq), 10)+" "+sip.MethodAck)
	return ack
}

package sdp

// Direction is the direction of a media stream as the a=sendrecv,
// a=sendonly, a=recvonly and a=inactive attributes mark it (RFC 3264 §5.1),
// from the point of view of the side whose SDP carries it. The zero value is
// SendRecv, the default when no attribute is present.
type Direction uint8

// The four directions.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

// String returns the attribute name: "sendrecv", "sendonly", "recvonly" or
// "inactive".
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "invalid"
}

// ParseDirection returns the direction an attribute name stands for.
func ParseDirection(s string) (Direction, bool) {
	switch s {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return 0, false
}

// Reverse returns the direction seen from the other side: sendonly and
// recvonly swap, sendrecv and inactive stay. RFC 3264 §6.1: an answer to a
// sendonly stream is recvonly (or inactive), and so on.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// Sends reports whether media flows out in direction d.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether media flows in in direction d.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// intersect returns the direction that allows only what both d and o allow.
func (d Direction) intersect(o Direction) Direction {
	return directionOf(d.Sends() && o.Sends(), d.Receives() && o.Receives())
}

func directionOf(send, recv bool) Direction {
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

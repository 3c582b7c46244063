package transaction

import "strconv"

// State is the state of a transaction: the states of RFC 3261 Figures 5 to
// 8 with the Accepted state of RFC 6026.
type State int

// States of a transaction. INVITE client transactions start in
// StateCalling, non-INVITE client and server transactions in StateTrying,
// INVITE server transactions in StateProceeding.
const (
	StateCalling State = iota + 1
	StateTrying
	StateProceeding
	StateCompleted
	StateConfirmed
	StateAccepted
	StateTerminated
)

var stateNames = [...]string{
	StateCalling:    "Calling",
	StateTrying:     "Trying",
	StateProceeding: "Proceeding",
	StateCompleted:  "Completed",
	StateConfirmed:  "Confirmed",
	StateAccepted:   "Accepted",
	StateTerminated: "Terminated",
}

// String returns the state's name as the RFC writes it, e.g. "Proceeding".
func (s State) String() string {
	if s > 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

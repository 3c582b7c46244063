package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the file as a string that
// time.ParseDuration reads ("60s", "90m", "1h30m") or as an integer number
// of seconds (3600).
type Duration struct{ time.Duration }

// errDuration is the reason a duration did not parse.
var errDuration = errors.New(`want a duration such as "60s", "10m" or "1h", or whole seconds`)

// UnmarshalText reads "60s", "1h30m" or "3600" (seconds).
func (d *Duration) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > int64(maxDuration/time.Second) {
			return errDuration
		}
		d.Duration = time.Duration(n) * time.Second
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errDuration
	}
	d.Duration = v
	return nil
}

const maxDuration = time.Duration(1<<63 - 1)

// MarshalText writes the duration as time.Duration.String does, without
// the zero units it ends with: "1h", "1h30m", "90s", "1.5s".
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// String is the form MarshalText writes.
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

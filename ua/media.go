package ua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sipd/sipd/media"
)

// ErrNoMedia: the call has no RTP session (Config.NoMedia) or no remote
// address to send to yet.
var ErrNoMedia = errors.New("ua: no media session")

// SendTone sends a sine of freqHz for dur to the peer over RTP with the
// negotiated codec, paced in real time.
func (c *Call) SendTone(ctx context.Context, freqHz float64, dur time.Duration) error {
	m := c.Media()
	if m == nil || !m.Remote().IsValid() {
		return ErrNoMedia
	}
	return m.Send(ctx, media.Tone(freqHz, media.SampleRate, dur, 0.5), c.Codec())
}

// PlayWAV sends a WAV file (16-bit PCM mono at 8000 Hz) to the peer over
// RTP with the negotiated codec.
func (c *Call) PlayWAV(ctx context.Context, r io.Reader) error {
	m := c.Media()
	if m == nil || !m.Remote().IsValid() {
		return ErrNoMedia
	}
	samples, rate, err := media.ReadWAV(r)
	if err != nil {
		return err
	}
	if rate != media.SampleRate {
		return fmt.Errorf("ua: WAV at %d Hz, want %d", rate, media.SampleRate)
	}
	return m.Send(ctx, samples, c.Codec())
}

// WriteRecording writes the audio received so far as a WAV file.
func (c *Call) WriteRecording(w io.Writer) error {
	m := c.Media()
	if m == nil {
		return ErrNoMedia
	}
	return media.WriteWAV(w, m.Received(), media.SampleRate)
}

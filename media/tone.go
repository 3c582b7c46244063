package media

import (
	"math"
	"time"
)

// Tone returns dur of a sine wave at freqHz sampled at rate Hz. amplitude is
// a fraction of full scale, clamped to [0, 1]; 0.5 is a comfortable test
// level that G.711 carries without clipping. It returns nil for a
// non-positive rate or duration.
func Tone(freqHz float64, rate int, dur time.Duration, amplitude float64) []int16 {
	if rate <= 0 || dur <= 0 {
		return nil
	}
	n := int(dur.Seconds() * float64(rate))
	amp := math.Max(0, math.Min(1, amplitude)) * math.MaxInt16
	w := 2 * math.Pi * freqHz / float64(rate)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(w*float64(i))))
	}
	return out
}

// Energy returns the sum of the squared samples.
func Energy(samples []int16) float64 {
	var e float64
	for _, x := range samples {
		e += float64(x) * float64(x)
	}
	return e
}

// ToneEnergy returns the energy of samples at freqHz, computed with the
// Goertzel algorithm over the whole input. It is scaled like Energy: for a
// pure sine at freqHz the two are (nearly) equal, so ToneEnergy/Energy is
// the fraction of the signal at that frequency. The frequency resolution is
// about rate/len(samples) Hz.
func ToneEnergy(samples []int16, rate int, freqHz float64) float64 {
	if len(samples) == 0 || rate <= 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freqHz/float64(rate))
	var s1, s2 float64
	for _, x := range samples {
		s1, s2 = float64(x)+coeff*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * power / float64(len(samples))
}

// detectBlock is the block length Detect analyses separately, so that a
// phase jump (a lost or late packet) spoils one block only. 50 ms gives a
// resolution of 20 Hz.
const detectBlock = 50 * time.Millisecond

// DetectThreshold is the fraction of a recording's energy that must lie at
// the frequency for Detect to report it.
const DetectThreshold = 0.5

// Detect reports whether a tone at freqHz dominates samples: the recording
// is cut into 50 ms blocks, the Goertzel energy at freqHz is summed over the
// blocks, and the tone counts as present when that is at least
// DetectThreshold of the total energy. Silence, noise and other tones are
// not detected; a tone survives G.711 coding. freqHz must lie between 0 and
// the Nyquist frequency rate/2.
func Detect(samples []int16, rate int, freqHz float64) bool {
	if rate <= 0 || freqHz <= 0 || freqHz >= float64(rate)/2 {
		return false
	}
	total := Energy(samples)
	if total == 0 {
		return false
	}
	block := max(1, int(detectBlock.Seconds()*float64(rate)))
	var tone float64
	for len(samples) > 0 {
		// The last block takes the remainder, so no block is shorter than
		// block and none is so short that its estimate is meaningless.
		b := samples
		if len(samples) >= 2*block {
			b = samples[:block]
		}
		samples = samples[len(b):]
		tone += ToneEnergy(b, rate, freqHz)
	}
	return tone >= DetectThreshold*total
}

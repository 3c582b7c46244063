package media

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestTone(t *testing.T) {
	s := Tone(1000, 8000, 10*time.Millisecond, 0.5)
	if len(s) != 80 {
		t.Fatalf("len = %d, want 80", len(s))
	}
	// 1000 Hz at 8000 Hz: one cycle every 8 samples, peak at sample 2.
	want := []int16{0, 11585, 16384, 11585, 0, -11585, -16384, -11585}
	if !slices.Equal(s[:8], want) {
		t.Errorf("first cycle %v, want %v", s[:8], want)
	}
	if got := Tone(440, 8000, time.Second, 7); slices.Max(got) != math.MaxInt16 {
		t.Errorf("amplitude not clamped to full scale: max %d", slices.Max(got))
	}
	if Tone(440, 0, time.Second, 1) != nil || Tone(440, 8000, -1, 1) != nil {
		t.Error("Tone with no rate or duration returned samples")
	}
}

func TestToneEnergy(t *testing.T) {
	s := Tone(440, 8000, time.Second, 0.5)
	e, te := Energy(s), ToneEnergy(s, 8000, 440)
	if r := te / e; r < 0.99 || r > 1.01 {
		t.Errorf("ToneEnergy/Energy at 440 Hz = %.4f, want ~1", r)
	}
	if r := ToneEnergy(s, 8000, 1000) / e; r > 1e-3 {
		t.Errorf("ToneEnergy/Energy at 1000 Hz = %.6f, want ~0", r)
	}
	if ToneEnergy(nil, 8000, 440) != 0 || ToneEnergy(s, 0, 440) != 0 {
		t.Error("ToneEnergy of nothing is not 0")
	}
}

func TestDetect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	noise := make([]int16, 8000)
	for i := range noise {
		noise[i] = int16(r.IntN(8001) - 4000)
	}
	a440 := Tone(440, 8000, time.Second, 0.5)
	mix := slices.Clone(a440)
	for i := range mix {
		mix[i] = mix[i]/2 + noise[i]/8 // tone well above the noise
	}
	// A tone with a phase jump every 20 ms frame, as lost packets cause.
	jumpy := slices.Concat(a440[:160], a440[300:460], a440[777:937], a440[1000:5000])
	tests := []struct {
		name    string
		samples []int16
		freq    float64
		want    bool
	}{
		{"440 Hz tone", a440, 440, true},
		{"1000 Hz in a 440 Hz tone", a440, 1000, false},
		{"470 Hz in a 440 Hz tone", a440, 470, false},
		{"silence", make([]int16, 8000), 440, false},
		{"nothing", nil, 440, false},
		{"white noise", noise, 440, false},
		{"tone in noise", mix, 440, true},
		{"phase jumps", jumpy, 440, true},
		{"short 1000 Hz", Tone(1000, 8000, 30*time.Millisecond, 0.3), 1000, true},
		{"through PCMU", DecodeULaw(EncodeULaw(a440)), 440, true},
		{"through PCMA", DecodeALaw(EncodeALaw(a440)), 440, true},
		{"1000 Hz through PCMA", DecodeALaw(EncodeALaw(a440)), 1000, false},
		{"A-law silence (decodes to +8)", DecodeALaw(EncodeALaw(make([]int16, 8000))), 440, false},
		{"quiet tone through PCMU", DecodeULaw(EncodeULaw(Tone(1000, 8000, time.Second, 0.01))), 1000, true},
		{"above Nyquist", a440, 5000, false},
		{"zero frequency", a440, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.samples, 8000, tt.freq); got != tt.want {
				t.Errorf("Detect(%v Hz) = %v, want %v", tt.freq, got, tt.want)
			}
		})
	}
}

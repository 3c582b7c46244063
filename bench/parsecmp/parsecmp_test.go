package main

import "testing"

// TestSameResults checks that sipd and sipgo extract the same Call-ID, CSeq
// number and method, top-Via branch and From tag from every message, and
// that each library's serialization parses back to the same values.
func TestSameResults(t *testing.T) {
	want := map[string]keys{
		"Invite": {
			CallID: "3848276298220188511@atlanta.example.com", CSeqSeq: 1, CSeqMethod: "INVITE",
			Branch: "z9hG4bK74bf9", FromTag: "9fxced76sl",
		},
		"Register": {
			CallID: "843817637684230@998sdasdh09", CSeqSeq: 1826, CSeqMethod: "REGISTER",
			Branch: "z9hG4bKnashds7", FromTag: "456248",
		},
		"Response": {
			CallID: "a84b4c76e66710@pc33.atlanta.example.com", CSeqSeq: 314159, CSeqMethod: "INVITE",
			Branch: "z9hG4bK4b43c2ff8.1", FromTag: "1928301774",
		},
	}
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			data := []byte(s.data)
			kd, err := sipdKeys(data)
			if err != nil {
				t.Fatal(err)
			}
			kg, err := sipgoKeys(data)
			if err != nil {
				t.Fatal(err)
			}
			if kd != want[s.name] {
				t.Errorf("sipd:  %v\nwant: %v", kd, want[s.name])
			}
			if kg != want[s.name] {
				t.Errorf("sipgo: %v\nwant:  %v", kg, want[s.name])
			}
			if _, err := checkSample(s); err != nil {
				t.Error(err)
			}
		})
	}
}

func BenchmarkSipdParseInvite(b *testing.B)    { benchSipdParse(b, sampleInvite) }
func BenchmarkSipgoParseInvite(b *testing.B)   { benchSipgoParse(b, sampleInvite) }
func BenchmarkSipdParseRegister(b *testing.B)  { benchSipdParse(b, sampleRegister) }
func BenchmarkSipgoParseRegister(b *testing.B) { benchSipgoParse(b, sampleRegister) }
func BenchmarkSipdParseResponse(b *testing.B)  { benchSipdParse(b, sampleResponse) }
func BenchmarkSipgoParseResponse(b *testing.B) { benchSipgoParse(b, sampleResponse) }

func BenchmarkSipdTxKeyInvite(b *testing.B)    { benchSipdTxKey(b, sampleInvite) }
func BenchmarkSipgoTxKeyInvite(b *testing.B)   { benchSipgoTxKey(b, sampleInvite) }
func BenchmarkSipdTxKeyRegister(b *testing.B)  { benchSipdTxKey(b, sampleRegister) }
func BenchmarkSipgoTxKeyRegister(b *testing.B) { benchSipgoTxKey(b, sampleRegister) }
func BenchmarkSipdTxKeyResponse(b *testing.B)  { benchSipdTxKey(b, sampleResponse) }
func BenchmarkSipgoTxKeyResponse(b *testing.B) { benchSipgoTxKey(b, sampleResponse) }

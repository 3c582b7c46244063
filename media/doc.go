// Package media carries a call's audio: G.711 codecs, WAV files, test tones
// and RTP sessions.
//
// The pieces, bottom up:
//
//   - G.711 (ITU-T G.711, bit-exact with the G.191 reference): [EncodeULaw],
//     [DecodeULaw], [EncodeALaw], [DecodeALaw], and [Codec] (PCMU or PCMA, its
//     value being the RFC 3551 static payload type) for append-style use.
//   - WAV: [ReadWAV] and [WriteWAV] for 16-bit PCM mono files.
//   - Tones: [Tone] makes a sine; [ToneEnergy] (the Goertzel algorithm) and
//     [Detect] tell whether a recording holds a given frequency, so a test can
//     say "the callee heard 440 Hz".
//   - RTP (RFC 3550): a [Session] owns one UDP socket, sends paced 20 ms G.711
//     frames to the remote address and records what that same address sends
//     back (symmetric RTP, RFC 4961). Packets from other sources or with
//     payload types it cannot decode are counted and dropped.
//
// A typical test call:
//
//	s, _ := media.Listen(netip.MustParseAddrPort("127.0.0.1:0"), media.Options{})
//	defer s.Close()
//	s.SetRemote(peer) // from the SDP answer
//	_ = s.Send(ctx, media.Tone(440, media.SampleRate, time.Second, 0.5), media.PCMU)
//	heard := media.Detect(s.Received(), media.SampleRate, 1000)
//
// Everything here is safe for concurrent use except where a doc comment says
// otherwise; the package holds no mutable global state.
package media

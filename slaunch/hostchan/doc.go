// Package hostchan is a small request/response protocol between a guest
// and the rig host over a serial port (the guest's ttyS1; a unix socket on
// the host). The guest-side Client is usable from slkit inside a VM over
// any io.ReadWriter (OpenSerial opens /dev/ttyS1 raw); the host-side Server
// dispatches requests to pluggable handlers.
//
// Wire format: one message per line, ASCII only, so that no tty setting
// and no kernel message interleaved on the port can corrupt a frame:
//
//	request:  SLKIT1 Q <id> <verb> <payload>\n
//	answer:   SLKIT1 A <id> OK <payload>\n
//	          SLKIT1 A <id> ERR <payload: the error message>\n
//
// The client writes a newline before each request, so that a request never
// continues a line the port already held (firmware output without a final
// newline) and is always read as a line of its own.
//
// <id> is a decimal uint32 chosen by the client; <verb> is 1–64 of
// [a-z0-9._-]; <payload> is standard base64 (RFC 4648 §4, padded) of at
// most MaxPayload bytes, or "-" when empty. A trailing \r is ignored.
// Lines that do not start with "SLKIT1 " are skipped by both sides (kernel
// noise, an echo); malformed or overlong SLKIT1 lines are skipped too, so a
// client waits for a well-formed answer to its own id.
//
// Verbs the rig answers are listed in verbs.go.
package hostchan

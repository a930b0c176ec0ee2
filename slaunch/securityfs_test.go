package slaunch

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/slkit/slkit/tpm"
)

// The fixtures are the securityfs eventlog file of a Secure Launch kernel,
// written byte by byte from the layouts, not with slkit's writer: Linux
// Secure Launch v16, patch "x86: Secure Launch late initcall platform
// module" (arch/x86/kernel/slmodule.c, sl_evtlog_read: the whole SLRT
// LOG_INFO buffer, log_info->size bytes), the TPM 2.0 log as the TCG PC
// Client PFP §10.2.2 lays it out (include/linux/tpm_eventlog.h struct
// tcg_pcr_event, tcg_efi_specid_event_head, tcg_pcr_event2_head), and the
// TPM 1.2 TXT event container of patch "x86: Secure Launch main header
// file" (include/linux/slaunch.h struct tpm_event_log_header; SDG
// Appendix E.1).

const specIDSHA256 = `
	00000000 03000000                              # TCG_PCR_EVENT: PCR 0, EV_NO_ACTION
	0000000000000000000000000000000000000000       #   digest (SHA-1 field): zero
	21000000                                       #   event size 33
	53706563204944204576656e74303300               #   "Spec ID Event03\0" (slmodule.c checks it at byte 32)
	00000000 00 02 00 02                           #   platform class, spec 2.0, errata 0, uintn size 2
	01000000 0b00 2000                             #   1 algorithm: SHA-256, 32 bytes
	00                                             #   vendorInfoSize 0`

var (
	d1 = bytes.Repeat([]byte{0xaa}, 32)
	d2 = sha256.Sum256([]byte("console=ttyS0"))
)

// v16Log is a TPM 2.0 buffer of 4096 bytes: the header, an ACM event on
// PCR 17 (HASH_START 0x402) and a kernel event on PCR 18 (EV_SLAUNCH
// 0x502), then unused zero space.
func v16Log(t testing.TB) []byte {
	b := hx(t, specIDSHA256+`
		11000000 02040000 01000000                     # PCR 17, 0x402 HASH_START, 1 digest
		0b00 `+strings.Repeat("aa", 32)+`              #   SHA-256
		04000000 00000000                              #   event size 4, data
		12000000 02050000 01000000                     # PCR 18, 0x502 EV_SLAUNCH, 1 digest
		0b00 `+hex.EncodeToString(d2[:])+`
		1c000000 4d6561737572656420`+hex.EncodeToString([]byte("Kernel command line"))+`  # "Measured Kernel command line"
	`)
	return append(b, make([]byte, 4096-len(b))...)
}

func extend(old, d []byte) []byte {
	h := sha256.Sum256(append(append([]byte{}, old...), d...))
	return h[:]
}

func TestParseKernelLogTPM20(t *testing.T) {
	buf := v16Log(t)
	k, err := ParseKernelLog(buf)
	if err != nil {
		t.Fatal(err)
	}
	if k.Format != KernelLogTPM20 || k.BufferSize != 4096 || k.Markers != 0 || len(k.Log.Events) != 2 {
		t.Fatalf("%+v", k)
	}
	used := len(specIDBytes(t)) + 2*(12+34+4) + 4 + 28
	if k.Unused != 4096-used || !bytes.Equal(k.Bytes, buf[:used]) {
		t.Fatalf("unused %d (want %d); Bytes is %d bytes, want the buffer's first %d", k.Unused, 4096-used, len(k.Bytes), used)
	}
	p, err := k.Log.Replay()
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 32)
	if v, _ := p.Get(tpm.SHA256, 17); !bytes.Equal(v, extend(zero, d1)) {
		t.Errorf("PCR 17 %x", v)
	}
	if v, _ := p.Get(tpm.SHA256, 18); !bytes.Equal(v, extend(zero, d2[:])) {
		t.Errorf("PCR 18 %x", v)
	}
	if k.Log.Events[1].Description() != "Measured Kernel command line" {
		t.Errorf("event 2: %q", k.Log.Events[1].Description())
	}
}

func specIDBytes(t testing.TB) []byte { return hx(t, specIDSHA256) }

// TestParseKernelLogV14Markers: a log of Secure Launch v14 and earlier
// brackets the kernel's events with START (0x503) and END (0x504)
// markers, which the late module never extended: they are counted,
// become EV_NO_ACTION, and are not replayed.
func TestParseKernelLogV14Markers(t *testing.T) {
	b := hx(t, specIDSHA256+`
		11000000 03050000 01000000 0b00 `+strings.Repeat("11", 32)+` 00000000   # PCR 17, START 0x503
		12000000 02050000 01000000 0b00 `+hex.EncodeToString(d2[:])+` 00000000               # PCR 18, 0x502
		11000000 04050000 01000000 0b00 `+strings.Repeat("22", 32)+` 00000000   # PCR 17, END 0x504
	`)
	k, err := ParseKernelLog(append(b, make([]byte, 512)...))
	if err != nil {
		t.Fatal(err)
	}
	if k.Markers != 2 || k.Log.Events[0].Type != tpm.EvNoAction || k.Log.Events[2].Type != tpm.EvNoAction {
		t.Fatalf("markers %d, types %v %v", k.Markers, k.Log.Events[0].Type, k.Log.Events[2].Type)
	}
	p, _ := k.Log.Replay()
	if _, ok := p.Get(tpm.SHA256, 17); ok {
		t.Error("a marker was replayed into PCR 17")
	}
	if v, _ := p.Get(tpm.SHA256, 18); !bytes.Equal(v, extend(make([]byte, 32), d2[:])) {
		t.Errorf("PCR 18 %x", v)
	}
}

// tpm12Container is a 512-byte TXT event container with two SHA-1 events.
func tpm12Container(t testing.TB, next string) []byte {
	d := sha1.Sum([]byte("abcd"))
	b := hx(t, `
		545854204576656e7420436f6e7461696e657200     # "TXT Event Container\0"
		000000000000000000000000                       # reserved[12]
		01 00 01 00                                    # container 1.0, event 1.0
		00020000                                       # container_size 512
		30000000                                       # pcr_events_offset 48
		`+next+`                                       # next_event_offset
		11000000 04040000 `+strings.Repeat("bb", 20)+` 00000000   # PCR 17, MLE_HASH 0x404, no data
		12000000 02050000 `+hex.EncodeToString(d[:])+` 04000000 61626364        # PCR 18, 0x502, "abcd"
	`)
	return append(b, make([]byte, 512-len(b))...)
}

func TestParseKernelLogTPM12(t *testing.T) {
	k, err := ParseKernelLog(tpm12Container(t, "7a000000")) // 48 + 32 + 36 = 122
	if err != nil {
		t.Fatal(err)
	}
	if k.Format != KernelLogTPM12 || len(k.Log.Events) != 2 || k.Log.Format != tpm.FormatSHA1 || k.Unused != 512-122 {
		t.Fatalf("%+v %+v", k, k.Log)
	}
	if k.Log.Events[1].PCR != 18 || k.Log.Events[1].Description() != "abcd" {
		t.Errorf("event 2: %+v", k.Log.Events[1])
	}
	// The events as a legacy SHA-1 log parse back to the same events.
	again, err := tpm.ParseEventLog(k.Bytes)
	if err != nil || len(again.Events) != 2 {
		t.Fatalf("Bytes: %v", err)
	}
}

// TestParseKernelLogBadInput: each malformed or empty buffer is one error
// of a known kind, naming what is wrong.
func TestParseKernelLogBadInput(t *testing.T) {
	junk := v16Log(t)
	junk[4000] = 1
	for _, c := range []struct {
		name string
		b    []byte
		kind error
		want string
	}{
		{"empty buffer", make([]byte, 4096), ErrNoKernelLog, "the 4096-byte buffer holds only zero bytes"},
		{"no bytes", nil, ErrNoKernelLog, "holds only zero bytes"},
		{"header only", append(specIDBytes(t), make([]byte, 100)...), ErrNoKernelLog, "has a header but no event"},
		{"TPM 1.2 without events", tpm12Container(t, "30000000"), ErrNoKernelLog, "holds no event"},
		{"neither format", bytes.Repeat([]byte("garbage!"), 8), ErrMalformed, "neither a TPM 2.0 log"},
		{"junk in the unused space", junk, tpm.ErrMalformedLog, ""},
		{"next past the container", tpm12Container(t, "00040000"), ErrMalformed, "next_event_offset 1024 exceeds container_size 512"},
		{"truncated event", v16Log(t)[:len(specIDBytes(t))+20], tpm.ErrMalformedLog, "truncated"},
		{"too large", make([]byte, MaxKernelLogSize+1), ErrMalformed, "more than 8388608"},
	} {
		_, err := ParseKernelLog(c.b)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.kind, c.want)
		}
	}
}

// FuzzParseKernelLog: the securityfs log reader never panics; a buffer it
// accepts gives events whose encoding parses back to as many events.
func FuzzParseKernelLog(f *testing.F) {
	f.Add(v16Log(f))
	f.Add(tpm12Container(f, "7a000000"))
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKernelLog(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoKernelLog) && !errors.Is(err, tpm.ErrMalformedLog) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		again, err := tpm.ParseEventLog(k.Bytes)
		if err != nil || len(again.Events) != len(k.Log.Events) {
			t.Fatalf("accepted, but Bytes does not parse back: %v", err)
		}
	})
}

// TestKernelTXTRegisters: the register files as slmodule.c formats them
// (DECLARE_TXT_PUB_READ_U: "%#04x\n", "%#010x\n", "%#018llx\n", read with
// the terminating NUL; C prints a zero value without "0x").
func TestKernelTXTRegisters(t *testing.T) {
	fsys := fstest.MapFS{
		"txt/sts":        {Data: []byte("0x0000000000000001\n\x00")},
		"txt/ests":       {Data: []byte("0000\n\x00")},
		"txt/errorcode":  {Data: []byte("0xc0000001\n\x00")},
		"txt/didvid":     {Data: []byte("0x00000001b0018086\n\x00")},
		"txt/ver_emif":   {Data: []byte("0x80000000\n\x00")},
		"txt/scratchpad": {Data: []byte("000000000000000000\n\x00")},
		"eventlog":       {Data: v16Log(t)},
	}
	r, err := ReadKernelTXTRegisters(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if *r.STS != 1 || *r.ESTS != 0 || *r.ErrorCode != 0xc0000001 || *r.DIDVID != 0x1b0018086 || *r.VerEMIF != 0x80000000 || *r.Scratchpad != 0 || r.E2STS != nil {
		t.Fatalf("%+v", r)
	}
	if n := r.Notes(); len(n) != 1 || !strings.Contains(n[0], "SENTER.DONE: the measured launch") {
		t.Errorf("notes %q", n)
	}
	fsys["txt/errorcode"] = &fstest.MapFile{Data: []byte("0xc00000aa\n\x00")}
	fsys["txt/ests"] = &fstest.MapFile{Data: []byte("0x01\n\x00")}
	r, _ = ReadKernelTXTRegisters(fsys)
	if n := strings.Join(r.Notes(), "; "); !strings.Contains(n, "TXT_RESET") || !strings.Contains(n, "0xc00000aa") {
		t.Errorf("notes %q", n)
	}
	fsys["txt/sts"] = &fstest.MapFile{Data: []byte("SENTER\n")}
	if _, err := ReadKernelTXTRegisters(fsys); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "txt/sts") {
		t.Errorf("a malformed register: %v", err)
	}
	if r, err := ReadKernelTXTRegisters(fstest.MapFS{"eventlog": {Data: []byte{1}}}); r != nil || err != nil {
		t.Errorf("no txt directory (not a TXT launch): %v %v", r, err)
	}
}

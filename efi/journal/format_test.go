package journal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi"
)

// handJournal builds a journal byte by byte from the layout table in
// README.md, independently of Marshal: generation 7, one entry "set
// BootNext = 0x0003" with the reboot flag.
func handJournal(_ *testing.T, key ed25519.PrivateKey) []byte {
	crc := func(b []byte) []byte {
		return binary.LittleEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	}
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	kid := sha256.Sum256(der)
	name := "BootNext"
	data := []byte{0x03, 0x00}
	e := binary.LittleEndian.AppendUint32(nil, uint32(72+len(name)+len(data)))
	e = binary.LittleEndian.AppendUint32(e, 1) // seq
	e = append(e, 1, 0x04)                     // op set, flag reboot
	e = binary.LittleEndian.AppendUint16(e, uint16(len(name)))
	e = binary.LittleEndian.AppendUint32(e, 7) // NV|BS|RT
	e = append(e, 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c)
	e = append(e, make([]byte, 32)...) // no expected digest
	e = binary.LittleEndian.AppendUint32(e, uint32(len(data)))
	e = append(e, name...)
	e = append(e, data...)
	e = append(e, crc(e)...)
	total := 64 + len(e) + 64
	h := []byte("SLKEFIJ\x00")
	h = binary.LittleEndian.AppendUint16(h, 1)  // version
	h = binary.LittleEndian.AppendUint16(h, 64) // header size
	h = binary.LittleEndian.AppendUint32(h, 1)  // entries
	h = binary.LittleEndian.AppendUint64(h, 7)  // generation
	h = binary.LittleEndian.AppendUint32(h, 64)
	h = binary.LittleEndian.AppendUint32(h, 262144)
	h = append(h, kid[:16]...)
	h = binary.LittleEndian.AppendUint64(h, 0) // created: unknown
	h = binary.LittleEndian.AppendUint32(h, uint32(total))
	h = append(h, crc(h)...)
	b := append(h, e...)
	return append(b, ed25519.Sign(key, append([]byte("slkit efi journal v1\x00"), b...))...)
}

func TestHandWrittenJournal(t *testing.T) {
	key := testKey(1)
	b := handJournal(t, key)
	j, err := Verify(b, pubOf(key))
	if err != nil {
		t.Fatal(err)
	}
	if j.Generation != 7 || len(j.Entries) != 1 || !j.Created.IsZero() {
		t.Fatalf("%+v", j)
	}
	e := j.Entries[0]
	if e.Seq != 1 || e.Op != OpSet || e.Var != efi.BootNext || e.Attr != efi.DefaultAttr || !bytes.Equal(e.Data, []byte{3, 0}) || !e.Reboot || e.Expect.Kind != ExpectAny {
		t.Fatalf("%+v", e)
	}
	again, err := (&Journal{Generation: 7, Entries: j.Entries}).Marshal(key)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("Marshal differs from the hand-written bytes: %v", err)
	}
}

func TestJournalRefusals(t *testing.T) {
	key := testKey(1)
	good := handJournal(t, key)
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	resign := func(b []byte) []byte {
		b = b[:len(b)-64]
		return append(b, ed25519.Sign(key, append([]byte(signContext), b...))...)
	}
	fixHeaderCRC := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
		return b
	}
	cases := []struct {
		name string
		b    []byte
		pub  ed25519.PublicKey
		want error
		msg  string
	}{
		{"bad signature", mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), pubOf(key), ErrSignature, "signature does not verify"},
		{"wrong key", good, pubOf(testKey(2)), ErrWrongKey, "signed by key"},
		{"bad entry checksum", mut(func(b []byte) []byte { b[64+76] ^= 1; return resign(b) }), pubOf(key), ErrMalformed, "entry 1: checksum mismatch"},
		{"bad header checksum", mut(func(b []byte) []byte { b[16] = 8; return b }), pubOf(key), ErrMalformed, "header checksum"},
		{"truncated", good[:len(good)-10], pubOf(key), ErrMalformed, "truncated"},
		{"truncated header", good[:40], pubOf(key), ErrMalformed, "truncated"},
		{"appended bytes", append(append([]byte(nil), good...), 0), pubOf(key), ErrMalformed, "after the signature"},
		{"version", mut(func(b []byte) []byte { b[8] = 2; return fixHeaderCRC(b) }), pubOf(key), ErrMalformed, "version 2"},
		{"too many entries", mut(func(b []byte) []byte { b[12] = 65; return fixHeaderCRC(b) }), pubOf(key), ErrMalformed, "65 entries"},
		{"not a journal", []byte(strings.Repeat("x", 200)), pubOf(key), ErrMalformed, "not an slkit EFI journal"},
	}
	for _, c := range cases {
		_, err := Verify(c.b, c.pub)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v (want %v containing %q)", c.name, err, c.want, c.msg)
		}
	}
}

// A sequence gap, a reorder and a late entry before a normal one are
// refused even when correctly checksummed and signed.
func TestJournalStructure(t *testing.T) {
	key := testKey(1)
	es := []Entry{{Seq: 1, Change: set(vendorVar, []byte("a"))}, {Seq: 3, Change: set(vendorVar, []byte("b"))}}
	b := rawJournal(key, 1, es)
	if _, err := Verify(b, pubOf(key)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "gap") {
		t.Fatalf("gap: %v", err)
	}
	es = []Entry{{Seq: 1, Change: set(efi.BootNext, []byte{1, 0})}, {Seq: 2, Change: set(vendorVar, []byte("b"))}}
	if _, err := Verify(rawJournal(key, 1, es), pubOf(key)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "must be last") {
		t.Fatalf("order: %v", err)
	}
	es = []Entry{{Seq: 1, Change: Change{Op: OpDelete, Var: vendorVar, Data: []byte("x")}}}
	if _, err := Verify(rawJournal(key, 1, es), pubOf(key)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("delete with data: %v", err)
	}
	if _, err := Verify(rawJournal(key, 0, nil), pubOf(key)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("generation 0: %v", err)
	}
}

// rawJournal encodes entries without Marshal's checks (to build invalid
// journals that are otherwise well signed).
func rawJournal(key ed25519.PrivateKey, gen uint64, es []Entry) []byte {
	var body []byte
	for i := range es {
		body = appendEntry(body, &es[i])
	}
	h := make([]byte, headerSize)
	copy(h, magic)
	binary.LittleEndian.PutUint16(h[8:], Version)
	binary.LittleEndian.PutUint16(h[10:], headerSize)
	binary.LittleEndian.PutUint32(h[12:], uint32(len(es)))
	binary.LittleEndian.PutUint64(h[16:], gen)
	binary.LittleEndian.PutUint32(h[24:], MaxEntries)
	binary.LittleEndian.PutUint32(h[28:], MaxBytes)
	kid := KeyID(pubOf(key))
	copy(h[32:48], kid[:])
	binary.LittleEndian.PutUint32(h[56:], uint32(headerSize+len(body)+sigSize))
	binary.LittleEndian.PutUint32(h[60:], crc32.Checksum(h[:60], castagnoli))
	b := append(h, body...)
	return append(b, ed25519.Sign(key, append([]byte(signContext), b...))...)
}

func TestMarshalLimits(t *testing.T) {
	key := testKey(1)
	var es []Entry
	for i := 0; i < MaxEntries+1; i++ {
		es = append(es, Entry{Seq: uint32(i + 1), Change: set(vendorVar, []byte{1})})
	}
	if _, err := (&Journal{Generation: 1, Entries: es}).Marshal(key); !errors.Is(err, ErrFull) {
		t.Fatalf("65 entries: %v", err)
	}
	es = []Entry{{Seq: 1, Change: set(vendorVar, make([]byte, MaxBytes))}}
	if _, err := (&Journal{Generation: 1, Entries: es}).Marshal(key); !errors.Is(err, ErrFull) {
		t.Fatalf("256 KiB of data: %v", err)
	}
}

func TestKeys(t *testing.T) {
	key := testKey(9)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := "-----BEGIN PRIVATE KEY-----\n" + b64(der) + "\n-----END PRIVATE KEY-----\n"
	for name, b := range map[string][]byte{"seed": key.Seed(), "raw64": key, "pem": []byte(pemKey)} {
		k, err := ParsePrivateKey(b)
		if err != nil || !k.Equal(key) {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := append([]byte(nil), key...)
	bad[63] ^= 1
	if _, err := ParsePrivateKey(bad); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKey([]byte("hello")); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	pder, _ := x509.MarshalPKIXPublicKey(pubOf(key))
	for name, b := range map[string][]byte{"raw": pubOf(key), "pem": []byte("-----BEGIN PUBLIC KEY-----\n" + b64(pder) + "\n-----END PUBLIC KEY-----\n")} {
		p, err := ParsePublicKey(b)
		if err != nil || !p.Equal(pubOf(key)) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParsePublicKey([]byte(pemKey)); !errors.Is(err, ErrMalformed) {
		t.Fatal("a private key accepted as public")
	}
}

package initramfs

import (
	"bytes"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

// newcHeader writes a newc header by hand from the field table of
// Documentation/driver-api/early-userspace/buffer-format.rst: "070701",
// then ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
// rdevmajor, rdevminor, namesize, check as 8 hex digits each.
func newcHeader(ino, mode, nlink, filesize, rmaj, rmin, namesize uint32) string {
	var b strings.Builder
	b.WriteString("070701")
	for _, v := range []uint32{ino, mode, 0, 0, nlink, 0, filesize, 0, 0, rmaj, rmin, namesize, 0} {
		b.WriteString(strings.ToUpper(hex8(v)))
	}
	return b.String()
}

func hex8(v uint32) string {
	const digits = "0123456789abcdef"
	var out [8]byte
	for i := 7; i >= 0; i-- {
		out[i] = digits[v&0xF]
		v >>= 4
	}
	return string(out[:])
}

// golden is the canonical archive of one file /etc/x holding "hi" (mode
// 0644) and the console device, written out by hand: every header is 110
// bytes, the name and the data are each padded to a multiple of 4.
var golden = "" +
	// 1: dev (added parent directory), mode 040755, nlink 2, "dev\0": 110+4 = 114, pad 2.
	newcHeader(1, 0o40755, 2, 0, 0, 0, 4) + "dev\x00" + "\x00\x00" +
	// 2: dev/console, mode 020600, rdev 5:1, "dev/console\0": 110+12 = 122, pad 2.
	newcHeader(2, 0o20600, 1, 0, 5, 1, 12) + "dev/console\x00" + "\x00\x00" +
	// 3: etc, 040755: as dev.
	newcHeader(3, 0o40755, 2, 0, 0, 0, 4) + "etc\x00" + "\x00\x00" +
	// 4: etc/x, mode 0100644, size 2, "etc/x\0": 110+6 = 116, no pad; "hi" + pad 2.
	newcHeader(4, 0o100644, 1, 2, 0, 0, 6) + "etc/x\x00" + "hi" + "\x00\x00" +
	// trailer: all zero, "TRAILER!!!\0": 110+11 = 121, pad 3.
	newcHeader(0, 0, 0, 0, 0, 0, 11) + "TRAILER!!!\x00" + "\x00\x00\x00"

func goldenRecords() []cpio.Record {
	f := cpio.StaticFile("/etc/x", "hi", 0o644)
	f.UID, f.GID, f.MTime, f.Ino, f.Dev, f.Major = 1000, 1000, 1700000000, 77, 9, 8
	c := cpio.CharDev("dev/console", 0o600, 5, 1)
	c.MTime = 42
	return []cpio.Record{f, c}
}

func canonicalBytes(t testing.TB, recs []cpio.Record) []byte {
	t.Helper()
	c, err := canonical(recs)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeArchive(&b, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCanonicalGolden(t *testing.T) {
	got := canonicalBytes(t, goldenRecords())
	if string(got) != golden {
		t.Fatalf("canonical archive differs from the hand-written one:\n got %q\nwant %q", got, golden)
	}
}

func TestCanonicalIgnoresOrderAndMetadata(t *testing.T) {
	want := canonicalBytes(t, goldenRecords())
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		recs := goldenRecords()
		recs = append(recs, cpio.Directory("etc", 0o755), cpio.Directory("/dev/", 0o755))
		for j := range recs {
			recs[j].MTime = uint64(rng.Int63())
			recs[j].UID = uint64(rng.Intn(65536))
			recs[j].Ino = uint64(rng.Int63())
		}
		rng.Shuffle(len(recs), func(a, b int) { recs[a], recs[b] = recs[b], recs[a] })
		if got := canonicalBytes(t, recs); !bytes.Equal(got, want) {
			t.Fatalf("permutation %d: different bytes", i)
		}
	}
}

func TestCanonicalRefuses(t *testing.T) {
	hard := cpio.StaticFile("a", "x", 0o644)
	hard.NLink = 2
	for name, recs := range map[string][]cpio.Record{
		"twice":         {cpio.StaticFile("a", "1", 0o644), cpio.StaticFile("/a", "2", 0o644)},
		"leaves root":   {cpio.StaticFile("../a", "1", 0o644)},
		"file as dir":   {cpio.StaticFile("a", "1", 0o644), cpio.StaticFile("a/b", "2", 0o644)},
		"hard link":     {hard},
		"unknown type":  {{Info: cpio.Info{Name: "a", Mode: 0o070000}}},
		"NUL in name":   {cpio.StaticFile("a\x00b", "1", 0o644)},
		"name too long": {cpio.StaticFile(strings.Repeat("a", maxName), "1", 0o644)},
	} {
		if _, err := canonical(recs); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
}

// mkuimageLike writes an archive as another tool would: absolute-looking
// names, arbitrary inode numbers and times, its own order.
func mkuimageLike(t testing.TB) []byte {
	t.Helper()
	recs := []cpio.Record{
		cpio.StaticFile("bbin/bb", "\x7fELF busybox", 0o755),
		cpio.Symlink("bbin/init", "bb"),
		cpio.Directory("bbin", 0o755),
		cpio.Symlink("init", "bbin/init"),
		cpio.Directory("tmp", 0o777),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.Directory("dev", 0o755),
	}
	for i := range recs {
		recs[i].Ino = uint64(1000 - i)
		recs[i].MTime = 1234567
		recs[i].UID = 1000
	}
	var b bytes.Buffer
	w := cpio.Newc.Writer(&b)
	if err := cpio.WriteRecords(w, recs); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func normalize(t testing.TB, in []byte) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	err := Normalize(&out, bytes.NewReader(in), int64(len(in)))
	return out.Bytes(), err
}

func TestNormalize(t *testing.T) {
	in := mkuimageLike(t)
	out, err := normalize(t, in)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(out)))
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"bbin", "bbin/bb", "bbin/init", "dev", "dev/console", "init", "tmp"}
	var names []string
	for i, r := range recs {
		names = append(names, r.Name)
		if r.MTime != 0 || r.UID != 0 || r.GID != 0 || r.Ino != uint64(i+1) {
			t.Errorf("%s: mtime %d uid %d gid %d ino %d, want 0 0 0 %d", r.Name, r.MTime, r.UID, r.GID, r.Ino, i+1)
		}
	}
	if strings.Join(names, " ") != strings.Join(wantNames, " ") {
		t.Errorf("names %v, want %v", names, wantNames)
	}
	if c := content(t, recs, "bbin/bb"); c != "\x7fELF busybox" {
		t.Errorf("bbin/bb content %q", c)
	}
	if c := content(t, recs, "init"); c != "bbin/init" {
		t.Errorf("init symlink target %q", c)
	}
	again, err := normalize(t, out)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("Normalize is not idempotent (err %v)", err)
	}
}

func content(t testing.TB, recs []cpio.Record, name string) string {
	t.Helper()
	for _, r := range recs {
		if r.Name == name {
			b := make([]byte, r.FileSize)
			if _, err := r.ReadAt(b, 0); err != nil && r.FileSize > 0 {
				t.Fatalf("%s: %v", name, err)
			}
			return string(b)
		}
	}
	t.Fatalf("%s not in the archive", name)
	return ""
}

func TestNormalizeRefusesMalformed(t *testing.T) {
	g := []byte(golden)
	hugeName := []byte(golden)
	copy(hugeName[6+11*8:], "7FFFFFFF")
	hugeFile := []byte(golden)
	copy(hugeFile[6+6*8:], "7FFFFFFF")
	notHex := []byte(golden)
	copy(notHex[6:], "0000000G")
	noNUL := []byte(golden)
	noNUL[110+3] = 'x'
	for name, in := range map[string][]byte{
		"empty":            nil,
		"truncated header": g[:60],
		"no trailer":       g[:len(g)-124],
		"bad magic":        append([]byte("070707"), g[6:]...),
		"huge name size":   hugeName,
		"huge file size":   hugeFile,
		"not hex":          notHex,
		"name without NUL": noNUL,
		"data after":       append(append([]byte(nil), g...), []byte(golden)...),
	} {
		if _, err := normalize(t, in); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
	padded := append(append([]byte(nil), g...), make([]byte, 512)...)
	if out, err := normalize(t, padded); err != nil || string(out) != golden {
		t.Errorf("zero padding after the trailer: err %v", err)
	}
}

// FuzzNormalize checks that Normalize never fails unexpectedly on hostile
// bytes and that what it writes is canonical: normalizing it again gives
// the same bytes, and every record of the input survives with its bytes.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(golden))
	f.Add(mkuimageLike(f))
	f.Add([]byte(newcHeader(0, 0, 0, 0, 0, 0, 11) + "TRAILER!!!\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := normalize(t, in)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not ErrFormat: %v", err)
			}
			return
		}
		again, err := normalize(t, out)
		if err != nil {
			t.Fatalf("canonical output does not normalize: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatal("Normalize is not idempotent")
		}
		inRecs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(in)))
		if err != nil {
			t.Fatalf("input accepted by Normalize but not by the reader: %v", err)
		}
		outRecs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(out)))
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]cpio.Record{}
		for _, r := range outRecs {
			byName[r.Name] = r
		}
		for _, r := range inRecs {
			o, ok := byName[r.Name]
			if !ok {
				t.Fatalf("%q lost", r.Name)
			}
			if o.Mode != r.Mode&(cpio.S_IFMT|0o7777) {
				t.Fatalf("%q: mode %#o, want %#o", r.Name, o.Mode, r.Mode)
			}
			typ := r.Mode & cpio.S_IFMT
			if typ == cpio.S_IFREG || typ == cpio.S_IFLNK {
				if a, b := content(t, inRecs, r.Name), content(t, outRecs, r.Name); a != b {
					t.Fatalf("%q: content changed", r.Name)
				}
			}
		}
	})
}

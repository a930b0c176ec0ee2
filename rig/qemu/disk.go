package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// WithDisk attaches the raw disk image at path as an NVMe drive (the
// guest's /dev/nvme0n1 for the first disk, nvme1n1 for the second...).
// The Debian cloud kernel has NVMe and ext4 built in, so the pre-launch
// environment reaches such a disk without modules; the image keeps what
// the guest wrote across runs, like a real disk across reboots.
func WithDisk(path string) VMOption {
	return func(c *vmConfig) {
		n := 0
		for _, a := range c.extra {
			if strings.HasPrefix(a, "nvme,drive=slkitdisk") {
				n++
			}
		}
		id := "slkitdisk" + strconv.Itoa(n)
		// QEMU option values escape a comma by doubling it.
		file := strings.ReplaceAll(path, ",", ",,")
		c.extra = append(c.extra,
			"-drive", "if=none,id="+id+",format=raw,cache=writeback,file="+file,
			"-device", "nvme,drive="+id+",serial="+id)
	}
}

// MakeExt4 writes an ext4 file system image of sizeMiB MiB at out holding
// the contents of dir (mke2fs -t ext4 -d, e2fsprogs), for WithDisk. The
// files keep their modes; owner and group become root.
func MakeExt4(ctx context.Context, dir, out string, sizeMiB int) error {
	bin, err := exec.LookPath("mke2fs")
	if err != nil {
		return fmt.Errorf("mke2fs: %w (apt-get install e2fsprogs)", ErrNotInstalled)
	}
	os.Remove(out)
	cmd := exec.CommandContext(ctx, bin, "-q", "-F", "-t", "ext4", "-L", "slkit", "-E", "root_owner=0:0",
		"-d", dir, out, strconv.Itoa(sizeMiB)+"M")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mke2fs %s: %v: %s", out, err, strings.TrimSpace(string(b)))
	}
	return nil
}

// recoverExt4 replays the ext4 journal of an image a guest did not
// unmount (it powers off after a sync): debugfs reads and writes the
// image without replaying it, and the guest's next mount would replay the
// journal over what debugfs wrote. e2fsck -p replays it and checks the
// file system; exit status 1 (errors corrected) is fine.
func recoverExt4(ctx context.Context, img string) error {
	bin, err := exec.LookPath("e2fsck")
	if err != nil {
		return fmt.Errorf("e2fsck: %w (apt-get install e2fsprogs)", ErrNotInstalled)
	}
	b, err := exec.CommandContext(ctx, bin, "-p", img).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("e2fsck -p %s: %v: %s", img, err, strings.TrimSpace(string(b)))
	}
	return nil
}

// ReadExt4File returns the content of the file at path inside the ext4
// image img (debugfs, e2fsprogs; the image must not be in use by a VM; its
// journal is replayed first).
// A missing file is an error wrapping os.ErrNotExist.
func ReadExt4File(ctx context.Context, img, path string) ([]byte, error) {
	bin, err := exec.LookPath("debugfs")
	if err != nil {
		return nil, fmt.Errorf("debugfs: %w (apt-get install e2fsprogs)", ErrNotInstalled)
	}
	if err := recoverExt4(ctx, img); err != nil {
		return nil, err
	}
	// debugfs prints nothing on stdout for a missing file; stat first.
	var stderr strings.Builder
	st := exec.CommandContext(ctx, bin, "-R", "stat "+path, img)
	st.Stderr = &stderr
	if out, err := st.Output(); err != nil || len(out) == 0 {
		return nil, fmt.Errorf("%s in %s: %w (%s)", path, img, os.ErrNotExist, strings.TrimSpace(stderr.String()))
	}
	cat := exec.CommandContext(ctx, bin, "-R", "cat "+path, img)
	out, err := cat.Output()
	if err != nil {
		return nil, fmt.Errorf("debugfs cat %s in %s: %w", path, img, err)
	}
	return out, nil
}

// WriteExt4File replaces (or creates) the file at path inside the ext4
// image img with data, mode 0600 (debugfs -w; the image must not be in
// use by a VM), e.g. to tamper with a file a guest wrote.
func WriteExt4File(ctx context.Context, img, path string, data []byte) error {
	bin, err := exec.LookPath("debugfs")
	if err != nil {
		return fmt.Errorf("debugfs: %w (apt-get install e2fsprogs)", ErrNotInstalled)
	}
	if err := recoverExt4(ctx, img); err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "slkit-ext4-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	os.Chmod(tmp.Name(), 0o600)
	// rm fails harmlessly for a new file; write then creates it.
	script := fmt.Sprintf("rm %s\nwrite %s %s\n", path, tmp.Name(), path)
	cmd := exec.CommandContext(ctx, bin, "-w", "-f", "-", img)
	cmd.Stdin = strings.NewReader(script)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("debugfs -w %s: %v: %s", img, err, strings.TrimSpace(string(b)))
	}
	got, err := ReadExt4File(ctx, img, path)
	if err != nil {
		return err
	}
	if string(got) != string(data) {
		return fmt.Errorf("debugfs -w %s: %s holds %d bytes after the write, want %d", img, path, len(got), len(data))
	}
	return nil
}

// ListExt4Dir returns the names in the directory dir of the ext4 image img
// (debugfs "ls -p", e2fsprogs; the image must not be in use by a VM; its
// journal is replayed first), without "." and "..".
func ListExt4Dir(ctx context.Context, img, dir string) ([]string, error) {
	bin, err := exec.LookPath("debugfs")
	if err != nil {
		return nil, fmt.Errorf("debugfs: %w (apt-get install e2fsprogs)", ErrNotInstalled)
	}
	if err := recoverExt4(ctx, img); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, bin, "-R", "ls -p "+dir, img).Output()
	if err != nil {
		return nil, fmt.Errorf("debugfs ls %s in %s: %w", dir, img, err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		// /inode/mode/uid/gid/name/size/
		f := strings.Split(l, "/")
		if len(f) < 7 || f[5] == "." || f[5] == ".." || f[5] == "" {
			continue
		}
		names = append(names, f[5])
	}
	return names, nil
}

package doccheck_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// files lists the repository's tracked files with one of the suffixes.
func files(t *testing.T, suffixes ...string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root(t), "ls-files").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	var fs []string
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		for _, s := range suffixes {
			if strings.HasSuffix(f, s) {
				fs = append(fs, f)
			}
		}
	}
	return fs
}

func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile("^#{1,6} +(.*?)\\s*$")
	fence   = regexp.MustCompile("^\\s*(```|~~~)")
)

// anchor is GitHub's anchor for a heading: lower case, punctuation other
// than '-' and '_' dropped, spaces to '-'.
func anchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of a Markdown file's headings (outside code
// fences), with GitHub's -1, -2 suffixes for repeats.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	seen := map[string]int{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if fence.MatchString(l) {
			in = !in
			continue
		}
		if m := heading.FindStringSubmatch(l); m != nil && !in {
			a := anchor(strings.Trim(m[1], "`"))
			if n := seen[a]; n > 0 {
				out[a+"-"+strconv.Itoa(n)] = true
			} else {
				out[a] = true
			}
			seen[a]++
		}
	}
	return out
}

// TestMarkdownLinksResolve: every relative link of every Markdown file
// names a file of the repository, and its #fragment a heading there.
func TestMarkdownLinksResolve(t *testing.T) {
	r := root(t)
	mds := files(t, ".md")
	if len(mds) < 5 {
		t.Fatalf("only %d Markdown files found", len(mds))
	}
	checked := 0
	for _, md := range mds {
		b, err := os.ReadFile(filepath.Join(r, md))
		if err != nil {
			t.Fatal(err)
		}
		in := false
		for i, l := range strings.Split(string(b), "\n") {
			if fence.MatchString(l) {
				in = !in
			}
			if in {
				continue
			}
			for _, m := range mdLink.FindAllStringSubmatch(l, -1) {
				link := m[1]
				if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
					continue
				}
				target, frag, _ := strings.Cut(link, "#")
				p := filepath.Join(r, filepath.Dir(md), target)
				if target == "" {
					p = filepath.Join(r, md)
				}
				rel, err := filepath.Rel(r, p)
				if err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s:%d: link %q points outside the repository", md, i+1, link)
					continue
				}
				st, err := os.Stat(p)
				if err != nil {
					t.Errorf("%s:%d: link %q: %v", md, i+1, link, err)
					continue
				}
				checked++
				if frag != "" && !st.IsDir() && strings.HasSuffix(p, ".md") && !anchors(t, p)[frag] {
					t.Errorf("%s:%d: link %q: no heading with anchor #%s in %s", md, i+1, link, frag, rel)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link checked: the link pattern is broken")
	}
}

// outside matches what must not appear in the repository's code and
// documentation: paths outside it, the design notes it was started from,
// and references to the issue tracker instead of to the code.
var outside = regexp.MustCompile(`\.\./shared|\bDESIGN\.md|reference/(drtm|tpm|efi|rig|style|firmware-and-sl-2026)\.md|(?i:\bthe [a-z0-9-]+ issue\b|\bissue [0-9]+\b|\bissue #[0-9]+)`)

// TestNoReferencesOutside: comments and documentation explain the code;
// they do not send the reader outside the repository or to the tracker.
func TestNoReferencesOutside(t *testing.T) {
	r := root(t)
	for _, f := range files(t, ".go", ".md", ".sh", "Makefile") {
		if strings.HasPrefix(f, "internal/doccheck/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			if m := outside.FindString(l); m != "" {
				t.Errorf("%s:%d: %q: %s", f, i+1, m, strings.TrimSpace(l))
			}
		}
	}
	// The samples are joined at run time, so that this file does not
	// itself hold what it looks for.
	for _, bad := range []string{"see ../" + "shared/x", "DESIGN" + ".md flow 4", "until the DRTM " + "issue", "issue" + " 6's done when", "reference/" + "drtm.md"} {
		if !outside.MatchString(bad) {
			t.Errorf("the pattern misses %q", bad)
		}
	}
}

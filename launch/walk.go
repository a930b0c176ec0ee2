package launch

import (
	"fmt"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/tpm"
)

// ErrNeedImage is returned when a prediction needs an image's digest in a
// bank that only reading the image gives: a signed policy pins each image
// by SHA-256 alone, so a prediction in SHA-1, SHA-384 or SHA-512 reads the
// image (and checks it against the pin).
var ErrNeedImage = errkind.New(errkind.Input, "image needed for this bank")

// componentDigests gives the digests of a component in algs, or ok=false
// when the launch has no such component.
type componentDigests func(c Component, algs []tpm.Alg) (ds tpm.Digests, ok bool, err error)

// walk runs the profile over the entry: for every step whose component the
// entry has, it takes the component's digests in every bank of algs (read
// once, or pinned: Entry.stepDigests) and calls do. Predict, Measure and
// PredictComponent share it, so that they cannot disagree on which bytes,
// which PCR, which type or which description an event has.
func walk(e *Entry, p *Profile, algs []tpm.Alg, do func(Step, tpm.Digests) error) error {
	if err := e.Validate(); err != nil {
		return err
	}
	return walkSteps(p, algs, e.stepDigests, do)
}

// walkSteps is walk over any source of component digests.
func walkSteps(p *Profile, algs []tpm.Alg, digests componentDigests, do func(Step, tpm.Digests) error) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if len(algs) == 0 {
		return fmt.Errorf("no PCR banks")
	}
	for _, s := range p.Steps {
		ds, ok, err := digests(s.Component, algs)
		if err != nil {
			return err
		}
		if !ok {
			if s.Optional {
				continue
			}
			return fmt.Errorf("%w: profile %s needs a %s", ErrEntry, p.Name, s.Component)
		}
		if err := do(s, ds); err != nil {
			return err
		}
	}
	return nil
}

// stepDigests returns component c's digests in every bank of algs. An
// image given only by its pinned digests (Image.Pinned, R nil) gives
// those, and a bank they lack is ErrNeedImage; an image that is read is
// hashed once in algs and in its pinned banks, and must match every pin
// (ErrImageMismatch).
func (e *Entry) stepDigests(c Component, algs []tpm.Alg) (tpm.Digests, bool, error) {
	im := e.image(c)
	if im == nil || len(im.Pinned) == 0 {
		return e.digest(c, algs)
	}
	if im.R == nil {
		for _, a := range algs {
			if _, ok := im.Pinned[a]; !ok {
				return nil, true, fmt.Errorf("%w: %s: only its %s is pinned; a %s digest needs the image's bytes",
					ErrNeedImage, im.label(c), algList(im.Pinned.Algs()), a)
			}
		}
		return subset(im.Pinned, algs), true, nil
	}
	ds, ok, err := e.digest(c, union(algs, im.Pinned.Algs()))
	if err != nil || !ok {
		return ds, ok, err
	}
	for _, a := range im.Pinned.Algs() {
		if !ds[a].Equal(im.Pinned[a]) {
			return nil, true, fmt.Errorf("%w: %s: %s %s, pinned %s", ErrImageMismatch, im.label(c), a, ds[a].Short(), im.Pinned[a].Short())
		}
	}
	return subset(ds, algs), true, nil
}

// image returns the entry's image for c (nil for a component that is not
// an image, or an initrd the entry does not have).
func (e *Entry) image(c Component) *Image {
	switch c {
	case Kernel:
		return &e.Kernel
	case Initrd:
		return e.Initrd
	}
	return nil
}

func algList(as []tpm.Alg) string {
	s := ""
	for i, a := range as {
		if i > 0 {
			s += ", "
		}
		s += a.String()
	}
	return s
}

// union returns the algorithms of every list, each once, in first-seen order.
func union(lists ...[]tpm.Alg) []tpm.Alg {
	var out []tpm.Alg
	seen := map[tpm.Alg]bool{}
	for _, l := range lists {
		for _, a := range l {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// subset keeps the digests of algs.
func subset(ds tpm.Digests, algs []tpm.Alg) tpm.Digests {
	out := tpm.Digests{}
	for _, a := range algs {
		if d, ok := ds[a]; ok {
			out[a] = d
		}
	}
	return out
}

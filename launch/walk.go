package launch

import (
	"fmt"

	"github.com/slkit/slkit/tpm"
)

// walk runs the profile over the entry: for every step whose component the
// entry has, it hashes the component once in every bank of algs and calls
// do. Predict and Measure share it, so that they cannot disagree on which
// bytes, which PCR, which type or which description an event has.
func walk(e *Entry, p *Profile, algs []tpm.Alg, do func(Step, tpm.Digests) error) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if len(algs) == 0 {
		return fmt.Errorf("no PCR banks")
	}
	for _, s := range p.Steps {
		ds, ok, err := e.digest(s.Component, algs)
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

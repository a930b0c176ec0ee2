package tpm

import (
	"fmt"
	"hash"
	"io"
	"sync"
)

// hashChunk is the unit read from an image and handed to every bank's hasher.
const hashChunk = 1 << 20

// HashReader reads r once and returns its digest in every bank of algs.
// Each bank hashes on its own goroutine; the reader is consumed in 1 MiB
// chunks from a small pool, so memory stays constant whatever the size.
func HashReader(algs []Alg, r io.Reader) (Digests, error) {
	hs := make([]hash.Hash, len(algs))
	for i, a := range algs {
		h, err := a.New()
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	if len(hs) == 1 {
		if _, err := io.CopyBuffer(hs[0], r, make([]byte, hashChunk)); err != nil {
			return nil, err
		}
		return Digests{algs[0]: hs[0].Sum(nil)}, nil
	}
	// Each chunk is hashed by every bank concurrently; a chunk buffer is
	// reused once all banks have finished with it. Three buffers keep the
	// reader and the hashers busy at the same time.
	const nbuf = 3
	type chunk struct {
		buf []byte
		wg  *sync.WaitGroup
	}
	free := make(chan []byte, nbuf)
	for i := 0; i < nbuf; i++ {
		free <- make([]byte, hashChunk)
	}
	feeds := make([]chan chunk, len(hs))
	var done sync.WaitGroup
	for i, h := range hs {
		feeds[i] = make(chan chunk, nbuf)
		done.Add(1)
		go func(h hash.Hash, in <-chan chunk) {
			defer done.Done()
			for c := range in {
				h.Write(c.buf)
				c.wg.Done()
			}
		}(h, feeds[i])
	}
	var rerr error
	for {
		buf := <-free
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			wg := &sync.WaitGroup{}
			wg.Add(len(hs))
			for _, f := range feeds {
				f <- chunk{buf: buf[:n], wg: wg}
			}
			go func(b []byte) { wg.Wait(); free <- b[:cap(b)] }(buf)
		} else {
			free <- buf
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	for _, f := range feeds {
		close(f)
	}
	done.Wait()
	if rerr != nil {
		return nil, rerr
	}
	out := Digests{}
	for i, a := range algs {
		out[a] = hs[i].Sum(nil)
	}
	return out, nil
}

// HashBytes returns data's digest in every bank of algs.
func HashBytes(algs []Alg, data []byte) (Digests, error) {
	out := Digests{}
	for _, a := range algs {
		d, err := a.Sum(data)
		if err != nil {
			return nil, err
		}
		out[a] = d
	}
	return out, nil
}

// ExtendData hashes data with each bank's algorithm and extends pcr in every
// bank with one TPM2_PCR_Extend; it returns the digests it extended.
func ExtendData(t TPMSender, pcr int, algs []Alg, r io.Reader) (Digests, error) {
	ds, err := HashReader(algs, r)
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	if err := Extend(t, pcr, ds); err != nil {
		return nil, err
	}
	return ds, nil
}

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// readInput reads an input file; a missing, unreadable or empty file is an
// input error naming the file.
func readInput(path string) ([]byte, error) {
	if path == "" {
		return nil, usageError{errors.New("missing file name")}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, inputError{path, err}
	}
	if len(b) == 0 {
		return nil, inputError{path, fmt.Errorf("empty file")}
	}
	return b, nil
}

// openInput opens an input file for streaming.
func openInput(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, inputError{path, err}
	}
	return f, nil
}

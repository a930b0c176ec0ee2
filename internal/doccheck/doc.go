// Package doccheck holds no code: its test checks the repository's
// documentation. Every relative link in a Markdown file resolves to a file
// of the repository (and a #fragment to a heading of that file), and no
// source or documentation file points outside the repository or at the
// project's issue tracker: the design lives in docs/design.md.
package doccheck

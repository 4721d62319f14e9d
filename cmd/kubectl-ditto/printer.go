package main

import (
	"fmt"
	"io"
)

// printer writes a command's output and keeps the first error, so that a
// closed pipe fails the command once rather than on every line.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func (p *printer) println(a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, a...)
	}
}

// complain writes to stderr, where a failed write has nowhere to be told.
func complain(stderr io.Writer, format string, a ...any) {
	_, _ = fmt.Fprintf(stderr, format, a...)
}

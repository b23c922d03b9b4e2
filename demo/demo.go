// Package demo holds the demo organisation: a small, made-up company in the
// declarative format of `roster apply -f`, for newcomers to click through.
package demo

import _ "embed"

//go:embed demo.yaml
var document []byte

// Document returns the demo organisation as a declarative file (YAML). The
// caller gets its own copy.
func Document() []byte { return append([]byte(nil), document...) }

// envsubst-eval: fluxcd/pkg/envsubst's Eval as kustomize-controller calls it in its default
// (non-strict) mode, where a variable that is not set reads as "". Reads JSON lines
// {"vars": {…}, "text": "…"} on stdin and answers each with {"text": "…", "error": "…"} on
// stdout, so test/flux-substitute-upstream.test.ts can compare components/flux/substitute.ts
// with the real package. Built by tools/envsubst/ensure-envsubst.sh at the release pinned in
// components/versions.ts.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/fluxcd/pkg/envsubst"
)

type request struct {
	Vars map[string]string `json:"vars"`
	Text string            `json:"text"`
}

type answer struct {
	Text  string `json:"text"`
	Error string `json:"error,omitempty"`
}

func eval(r request) (a answer) {
	defer func() {
		// some inputs make the package panic (a negative substring length); say so
		if p := recover(); p != nil {
			a = answer{Error: fmt.Sprintf("panic: %v", p)}
		}
	}()
	text, err := envsubst.Eval(r.Text, func(name string) (string, bool) { return r.Vars[name], true })
	a.Text = text
	if err != nil {
		a.Error = err.Error()
	}
	return a
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, "envsubst-eval:", err)
			os.Exit(2)
		}
		if err := enc.Encode(eval(r)); err != nil {
			fmt.Fprintln(os.Stderr, "envsubst-eval:", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "envsubst-eval:", err)
		os.Exit(2)
	}
	if err := out.Flush(); err != nil {
		os.Exit(2)
	}
}

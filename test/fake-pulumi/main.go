// The stand-in `pulumi` executable of test/fake-pulumi.ts (which says what it stands in for and
// why each behaviour is the real CLI's). Go rather than a Node.js script: test/bootstrap.test.ts
// makes about 100 calls, and a Node.js process costs about 45 ms of CPU to start, a Go one 1 ms.
// Only the standard library; fake-pulumi.ts builds it once into the cache folder.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"unsafe"
)

var argv = os.Args[1:]

// isTTY is what Node.js's `stream.isTTY` answers: the descriptor is a terminal (libuv's
// isatty: the terminal-attributes ioctl succeeds; its request is tty_linux.go's or tty_bsd.go's).
func isTTY(fd uintptr) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlGetTermios, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

func fail(msg string) {
	fmt.Fprintf(os.Stderr, "error: %s\n", msg)
	os.Exit(255)
}

func has(flag string) bool {
	for _, a := range argv {
		if a == flag {
			return true
		}
	}
	return false
}

// opt is the argument after the first of names found; "" when none (or it is last).
func opt(names ...string) string {
	for _, n := range names {
		for i, a := range argv {
			if a == n {
				if i+1 < len(argv) {
					return argv[i+1]
				}
				return ""
			}
		}
	}
	return ""
}

// object is a JSON object that keeps its keys in order (as JSON.parse and JSON.stringify do).
type object struct {
	keys   []string
	values map[string]json.RawMessage
}

func (o *object) UnmarshalJSON(data []byte) error {
	o.keys, o.values = nil, map[string]json.RawMessage{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object: %s", data)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		k := t.(string)
		if _, seen := o.values[k]; !seen {
			o.keys = append(o.keys, k)
		}
		o.values[k] = v
	}
	return nil
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(encode(k))
		b.WriteByte(':')
		b.Write(o.values[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encode is JSON.stringify of a value: no HTML escaping, no trailing newline.
func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

type state struct {
	Outputs object   `json:"outputs"`
	Secrets []string `json:"secrets"`
}

func openBackend(url string) string {
	if !strings.HasPrefix(url, "file://") {
		fail("the stand-in serves file:// backends only, not " + url)
	}
	dir := regexp.MustCompile(`\?.*$`).ReplaceAllString(strings.TrimPrefix(url, "file://"), "")
	if _, err := os.Stat(dir); err != nil {
		fail("unable to open bucket file://" + dir + "?no_tmp_dir=true: stat " + dir + ": no such file or directory")
	}
	return dir
}

func main() {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cwd, _ := os.Getwd()
	logFile, err := os.OpenFile(env["FAKE_PULUMI_LOG"], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "stand-in pulumi: FAKE_PULUMI_LOG: %v\n", err)
		os.Exit(1)
	}
	call := map[string]any{"argv": argv, "env": env, "cwd": cwd, "stdinTTY": isTTY(0), "stdoutTTY": isTTY(1)}
	if _, err := logFile.Write(append(encode(call), '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "stand-in pulumi: FAKE_PULUMI_LOG: %v\n", err)
		os.Exit(1)
	}
	logFile.Close()

	if len(argv) > 0 && argv[0] == "version" {
		fmt.Println("v3.258.0")
		os.Exit(0)
	}
	home := env["PULUMI_HOME"]
	if home == "" {
		h := env["HOME"]
		if h == "" {
			h = "/nonexistent"
		}
		home = filepath.Join(h, ".pulumi")
	}
	credentials := filepath.Join(home, "credentials.json")
	if len(argv) > 0 && argv[0] == "login" {
		url := ""
		if len(argv) > 1 {
			url = argv[1]
		}
		openBackend(url)
		must(os.MkdirAll(home, 0o755))
		must(os.WriteFile(credentials, encode(map[string]any{"current": url, "accessTokens": map[string]any{}, "accounts": map[string]any{}}), 0o644))
		fmt.Println("Logged in to stand-in as tester (" + url + ")")
		os.Exit(0)
	}
	url := env["PULUMI_BACKEND_URL"]
	if url == "" {
		if data, err := os.ReadFile(credentials); err == nil {
			var c struct {
				Current string `json:"current"`
			}
			must(json.Unmarshal(data, &c))
			url = c.Current
		}
	}
	if url == "" {
		fail("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions")
	}
	folder := openBackend(url)
	project := "undefined"
	if yaml, err := os.ReadFile("Pulumi.yaml"); err == nil {
		if m := regexp.MustCompile(`(?m)^name:\s*(\S+)`).FindSubmatch(yaml); m != nil {
			project = string(m[1])
		}
	}
	stackFile := func(name string) string {
		return filepath.Join(folder, ".pulumi", "stacks", project, name+".json")
	}
	load := func(name string) state {
		if name == "" {
			fail("no stack selected; please use pulumi stack select")
		}
		data, err := os.ReadFile(stackFile(name))
		if err != nil {
			fail("no stack named '" + name + "' found")
		}
		var s state
		must(json.Unmarshal(data, &s))
		return s
	}
	save := func(name string, s state) {
		must(os.MkdirAll(filepath.Dir(stackFile(name)), 0o755))
		if s.Secrets == nil {
			s.Secrets = []string{}
		}
		must(os.WriteFile(stackFile(name), encode(s), 0o644))
	}
	interactive := !has("--non-interactive") && isTTY(0) && isTTY(1) && env["TERM"] != "dumb"
	confirm := func(op string) {
		if has("--yes") || has("-y") || has("--skip-preview") {
			return
		}
		if !interactive {
			fail("--yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode")
		}
		fmt.Print("Previewing " + op + "\nDo you want to perform this " + op + "? ")
		buf := make([]byte, 256)
		n, _ := os.Stdin.Read(buf)
		if strings.TrimSpace(string(buf[:n])) != "yes" {
			fail("confirmation declined, not proceeding with the " + op)
		}
	}
	stack := opt("--stack", "-s")
	cmd, sub := "", ""
	if len(argv) > 0 {
		cmd = argv[0]
	}
	if len(argv) > 1 {
		sub = argv[1]
	}
	switch {
	case cmd == "stack" && sub == "select":
		name := stack
		for _, a := range argv[2:] {
			if !strings.HasPrefix(a, "-") {
				name = a
				break
			}
		}
		if _, err := os.Stat(stackFile(name)); err != nil {
			if !has("--create") {
				fail("no stack named '" + name + "' found")
			}
			save(name, state{Outputs: object{values: map[string]json.RawMessage{}}})
			fmt.Println("Created stack '" + name + "'")
		}
	case cmd == "stack" && sub == "output":
		s := load(stack)
		name := ""
		if len(argv) > 2 && !strings.HasPrefix(argv[2], "-") {
			name = argv[2]
		}
		show := func(k string) json.RawMessage {
			for _, secret := range s.Secrets {
				if secret == k && !has("--show-secrets") {
					return encode("[secret]")
				}
			}
			return s.Outputs.values[k]
		}
		if name != "" {
			if _, ok := s.Outputs.values[name]; !ok {
				fail("current stack does not have output property '" + name + "'")
			}
			var text string
			if v := show(name); json.Unmarshal(v, &text) != nil {
				var b bytes.Buffer
				must(json.Compact(&b, v))
				text = b.String()
			}
			fmt.Println(text)
		} else {
			all := object{keys: s.Outputs.keys, values: map[string]json.RawMessage{}}
			for _, k := range s.Outputs.keys {
				all.values[k] = show(k)
			}
			var b bytes.Buffer
			must(json.Indent(&b, encode(all), "", "  "))
			fmt.Println(b.String())
		}
	case cmd == "up" || cmd == "refresh" || cmd == "destroy":
		s := load(stack)
		if cmd == "up" {
			confirm("update")
		} else {
			confirm(cmd)
		}
		if cmd == "up" {
			outputs := env["FAKE_PULUMI_OUTPUTS"]
			if outputs == "" {
				outputs = "{}"
			}
			must(json.Unmarshal([]byte(outputs), &s.Outputs))
			s.Secrets = []string{}
			for _, n := range strings.Split(env["FAKE_PULUMI_SECRETS"], ",") {
				if n != "" {
					s.Secrets = append(s.Secrets, n)
				}
			}
		}
		if cmd == "destroy" {
			s.Outputs = object{values: map[string]json.RawMessage{}}
		}
		save(stack, s)
		fmt.Println(cmd + " complete")
	default:
		fail("unknown command " + strings.Join(argv, " "))
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "stand-in pulumi: %v\n", err)
		os.Exit(1)
	}
}

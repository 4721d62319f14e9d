package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// FindUp returns the path of rel in the working directory or the nearest
// directory above it that has rel: tests run in their package's directory,
// and the repository's files (hack/, artifacts/) are found from there.
func FindUp(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", rel, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
			return filepath.Join(dir, rel), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New(rel + " not found above the working directory")
		}
		dir = parent
	}
}

var (
	scriptsMu sync.Mutex
	scripts   = map[string]func() (string, error){}
)

// BuildScript runs the repository's hack/<name> (a build-*.sh script that
// builds one binary into the machine's cache and prints its path last) once
// per test binary, and returns that path after checking that it exists.
// The scripts take a lock, so parallel test binaries wait instead of
// building twice.
func BuildScript(name string) (string, error) {
	scriptsMu.Lock()
	run, ok := scripts[name]
	if !ok {
		run = sync.OnceValues(func() (string, error) { return runBuildScript(name) })
		scripts[name] = run
	}
	scriptsMu.Unlock()
	return run()
}

func runBuildScript(name string) (string, error) {
	script, err := FindUp(filepath.Join("hack", name))
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := Run(cmd); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", script, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	path := lines[len(lines)-1]
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s printed %q: %w", script, path, err)
	}
	return path, nil
}

package stack

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// LogHook receives every line a function prints, with the function's name,
// e.g. CloudWatch's EMF ingestion.
type LogHook func(function, line string)

// logFanout receives the Lambda emulator's output ("[name] line" per write)
// and copies each line to the console output, to the function's log file
// under <state dir>/logs/<name>.log and to the hooks.
type logFanout struct {
	dir string
	out io.Writer

	mu    sync.Mutex
	files map[string]*os.File
	hooks []LogHook
	buf   []byte
}

func newLogFanout(dir string, out io.Writer) (*logFanout, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	return &logFanout{dir: dir, out: out, files: map[string]*os.File{}}, nil
}

// addHook registers a hook for every later line.
func (l *logFanout) addHook(h LogHook) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hooks = append(l.hooks, h)
}

// Write takes whole or partial lines; complete lines are dispatched.
func (l *logFanout) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	var lines []string
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	hooks := l.hooks
	for _, line := range lines {
		name, text := splitPrefix(line)
		if l.out != nil {
			_, _ = fmt.Fprintln(l.out, line)
		}
		if f := l.fileLocked(name); f != nil {
			_, _ = fmt.Fprintln(f, text)
		}
	}
	l.mu.Unlock()
	for _, line := range lines {
		name, text := splitPrefix(line)
		for _, h := range hooks {
			h(name, text)
		}
	}
	return len(p), nil
}

// path returns the log file of a function.
func (l *logFanout) path(name string) string {
	return filepath.Join(l.dir, name+".log")
}

func (l *logFanout) fileLocked(name string) *os.File {
	if name == "" || strings.ContainsAny(name, `/\`) {
		name = "localcloud"
	}
	if f, ok := l.files[name]; ok {
		return f
	}
	f, err := os.OpenFile(l.path(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		l.files[name] = nil
		return nil
	}
	l.files[name] = f
	return f
}

// Close closes the log files.
func (l *logFanout) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for name, f := range l.files {
		if f != nil {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
		delete(l.files, name)
	}
	return first
}

// splitPrefix splits "[name] text" into its parts.
func splitPrefix(line string) (name, text string) {
	if strings.HasPrefix(line, "[") {
		if i := strings.Index(line, "] "); i > 0 {
			return line[1:i], line[i+2:]
		}
		if strings.HasSuffix(line, "]") {
			return line[1 : len(line)-1], ""
		}
	}
	return "", line
}

// prefixed writes every line to out with a prefix (for services whose
// output is not already prefixed).
type prefixed struct {
	mu     sync.Mutex
	out    io.Writer
	prefix string
	buf    []byte
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		_, _ = fmt.Fprintf(p.out, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

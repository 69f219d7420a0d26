package sagemakeremu

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

//go:embed algo/train.py algo/serve.py
var algoFS embed.FS

// writeAlgorithm writes the embedded train.py and serve.py under dir/algo,
// so the scripts run are always the ones this binary was built with.
func writeAlgorithm(dir string) (string, error) {
	out := filepath.Join(dir, "algo")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"train.py", "serve.py"} {
		data, err := algoFS.ReadFile("algo/" + name)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
	}
	return out, nil
}

// xgboostMissing is the failure of an interpreter without XGBoost.
func xgboostMissing(python string, err error) error {
	return fmt.Errorf("%s cannot import xgboost (install the Debian package python3-xgboost: apt-get install -y python3-xgboost): %w", python, err)
}

// CheckPython verifies that the configured interpreter can import xgboost.
func (s *Service) CheckPython(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, s.opts.Python, "-c", "import xgboost; print(xgboost.__version__)").CombinedOutput()
	if err != nil {
		return xgboostMissing(s.opts.Python, fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out))))
	}
	return nil
}

// tail keeps the last lines of a process's output.
type tail struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// pump logs every line of r with the given attributes, keeping a tail.
func pump(r io.Reader, log *slog.Logger, msg string, t *tail, attrs ...any) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if t != nil {
			t.add(line)
		}
		log.Info(msg, append(attrs, "line", line)...)
	}
}

// isExecNotFound reports an interpreter that does not exist.
func isExecNotFound(err error) bool {
	var pe *os.PathError
	return errors.Is(err, exec.ErrNotFound) || (errors.As(err, &pe) && errors.Is(pe.Err, os.ErrNotExist))
}

package sagemakeremu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fleetSpec is a snapshot of an endpoint configuration with its models.
type fleetSpec struct {
	ConfigName string             `json:"configName"`
	Variants   []variantSpec      `json:"variants"`
	Capture    *DataCaptureConfig `json:"capture,omitempty"`
}

type variantSpec struct {
	Name          string  `json:"name"`
	Model         string  `json:"model"`
	Image         string  `json:"image"`
	ModelDataURL  string  `json:"modelDataUrl"`
	Weight        float64 `json:"weight"`
	InstanceType  string  `json:"instanceType,omitempty"`
	InstanceCount int64   `json:"instanceCount,omitempty"`
}

// fleet is the running model servers of one configuration.
type fleet struct {
	spec    *fleetSpec
	servers map[string]*modelServer // by variant name
}

// stop stops every server of the fleet; nil-safe and idempotent.
func (f *fleet) stop() {
	if f == nil {
		return
	}
	for _, srv := range f.servers {
		srv.stop()
	}
}

// serverStartTimeout bounds a model server's start (import of xgboost and
// model load), in real time.
const serverStartTimeout = 2 * time.Minute

// startFleet downloads each variant's model and starts its server.
func (s *Service) startFleet(ctx context.Context, endpointName string, spec *fleetSpec) (*fleet, error) {
	f := &fleet{spec: spec, servers: map[string]*modelServer{}}
	base := filepath.Join(s.dir, "endpoints", endpointName, spec.ConfigName)
	for _, v := range spec.Variants {
		if reason := unsupportedAlgorithm(&AlgorithmSpecification{TrainingImage: v.Image}); reason != "" {
			f.stop()
			return nil, fmt.Errorf("variant %s: %s", v.Name, strings.TrimPrefix(reason, "ClientError: "))
		}
		dir := filepath.Join(base, v.Name, "model")
		if err := s.fetchModel(ctx, v.ModelDataURL, dir); err != nil {
			f.stop()
			return nil, err
		}
		srv, err := s.startServer(ctx, endpointName, v.Name, dir)
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		f.servers[v.Name] = srv
	}
	return f, nil
}

// fetchModel extracts the model archive into dir.
func (s *Service) fetchModel(ctx context.Context, url, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if url == "" {
		return errors.New("the model has no ModelDataUrl; the built-in XGBoost container needs a model.tar.gz")
	}
	bucket, key, err := splitS3URI(url)
	if err != nil {
		return fmt.Errorf("Could not access model data at %s: %v", url, err) //nolint:stylecheck // AWS's wording
	}
	body, err := s.opts.Store.GetObject(ctx, bucket, key)
	if err != nil {
		return fmt.Errorf("Could not access model data at %s. Please ensure that the role has access to the object and that it exists: %v", url, err) //nolint:stylecheck
	}
	defer body.Close()
	if err := extractTarGz(body, dir); err != nil {
		return fmt.Errorf("Failed to extract model data archive from URL %q. Please ensure that the object located at the URL is a valid tar.gz archive: %v", url, err) //nolint:stylecheck
	}
	return nil
}

// modelServer is one running serve.py.
type modelServer struct {
	cmd    *exec.Cmd
	url    string
	client *http.Client
	exited chan struct{}
	once   sync.Once
}

// startServer starts serve.py on a loopback port and waits for /ping.
func (s *Service) startServer(ctx context.Context, endpointName, variant, modelDir string) (*modelServer, error) {
	// The server outlives the request that created it: it runs until the
	// fleet is stopped, not until ctx ends.
	cmd := exec.Command(s.opts.Python, filepath.Join(s.algoDir, "serve.py"), "--model-dir", modelDir, "--port", "0")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		if isExecNotFound(err) {
			return nil, xgboostMissing(s.opts.Python, err)
		}
		return nil, fmt.Errorf("start model server: %w", err)
	}
	srv := &modelServer{cmd: cmd, exited: make(chan struct{}), client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}}
	errTail := &tail{max: 20}
	attrs := []any{"endpoint", endpointName, "variant", variant}
	pumped := make(chan struct{}, 2)
	go func() {
		pump(stderr, s.log, "model server log", errTail, attrs...)
		pumped <- struct{}{}
	}()
	portCh := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		portCh <- strings.TrimSpace(line)
		pump(r, s.log, "model server log", nil, attrs...)
		pumped <- struct{}{}
	}()
	go func() {
		// Wait closes the pipes: read them to the end first so the
		// error tail is complete.
		<-pumped
		<-pumped
		_ = cmd.Wait()
		close(srv.exited)
	}()
	timer := time.NewTimer(serverStartTimeout)
	defer timer.Stop()
	var port int
	select {
	case line := <-portCh:
		p, ok := strings.CutPrefix(line, "listening ")
		n, err := strconv.Atoi(p)
		if !ok || err != nil {
			<-srv.exited
			msg := errTail.String()
			if strings.Contains(msg, "python3-xgboost") || strings.Contains(msg, "No module named") {
				return nil, xgboostMissing(s.opts.Python, errors.New(lastLine(msg)))
			}
			return nil, fmt.Errorf("model server did not start: %s", lastLine(msg))
		}
		port = n
	case <-timer.C:
		srv.stop()
		return nil, fmt.Errorf("model server did not start within %s", serverStartTimeout)
	case <-ctx.Done():
		srv.stop()
		return nil, ctx.Err()
	}
	srv.url = "http://127.0.0.1:" + strconv.Itoa(port)
	resp, err := srv.client.Get(srv.url + "/ping")
	if err != nil {
		srv.stop()
		return nil, fmt.Errorf("model server health check: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		srv.stop()
		return nil, fmt.Errorf("model server health check: status %d", resp.StatusCode)
	}
	return srv, nil
}

// stop terminates the server (SIGTERM, then SIGKILL after 3 s).
func (m *modelServer) stop() {
	if m == nil {
		return
	}
	m.once.Do(func() {
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(3 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
		m.client.CloseIdleConnections()
	})
}

// alive reports whether the process still runs.
func (m *modelServer) alive() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

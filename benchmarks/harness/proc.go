package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ChildPeakRSS returns the peak resident set size (VmHWM, KiB) of the live
// child processes of parent whose environment has
// AWS_LAMBDA_FUNCTION_NAME=function: the local Lambda service's processes
// of that function. Linux only (/proc).
func ChildPeakRSS(proc string, parent int, function string) (int64, error) {
	dirs, err := filepath.Glob(filepath.Join(proc, "[0-9]*"))
	if err != nil {
		return 0, fmt.Errorf("list processes: %w", err)
	}
	want := []byte("AWS_LAMBDA_FUNCTION_NAME=" + function)
	var peak int64
	found := false
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		ppid, err := parentPID(stat)
		if err != nil || ppid != parent {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !hasEnvEntry(env, want) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil {
			continue
		}
		kib, err := statusField(status, "VmHWM:")
		if err != nil {
			return 0, fmt.Errorf("process %s: %w", filepath.Base(d), err)
		}
		found = true
		peak = max(peak, kib)
	}
	if !found {
		return 0, fmt.Errorf("no live process of function %s under pid %d", function, parent)
	}
	return peak, nil
}

// parentPID reads field 4 of /proc/<pid>/stat; the command name (field 2)
// is in parentheses and may hold spaces.
func parentPID(stat []byte) (int, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	return strconv.Atoi(fields[1])
}

func hasEnvEntry(environ, entry []byte) bool {
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if bytes.Equal(kv, entry) {
			return true
		}
	}
	return false
}

// statusField reads a "Name:   123 kB" line of /proc/<pid>/status.
func statusField(status []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, name))
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s line in status", name)
}

// ChildCPUTicks returns the CPU time (user + system, in clock ticks of
// /proc, usually 1/100 s) used so far by the live child processes of
// parent that belong to function (as for ChildPeakRSS), and how many
// there are.
func ChildCPUTicks(proc string, parent int, function string) (ticks int64, procs int, err error) {
	dirs, err := filepath.Glob(filepath.Join(proc, "[0-9]*"))
	if err != nil {
		return 0, 0, fmt.Errorf("list processes: %w", err)
	}
	want := []byte("AWS_LAMBDA_FUNCTION_NAME=" + function)
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		ppid, err := parentPID(stat)
		if err != nil || ppid != parent {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !hasEnvEntry(env, want) {
			continue
		}
		t, err := cpuTicks(stat)
		if err != nil {
			return 0, 0, fmt.Errorf("process %s: %w", filepath.Base(d), err)
		}
		ticks += t
		procs++
	}
	return ticks, procs, nil
}

// cpuTicks reads utime + stime (fields 14 and 15) of /proc/<pid>/stat.
func cpuTicks(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	return u + s, nil
}

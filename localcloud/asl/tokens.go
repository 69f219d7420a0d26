package asl

import (
	"errors"
)

// Task token errors, mapped by the API to AWS's error codes.
var (
	// ErrTaskDoesNotExist: the token is unknown or its task already ended.
	ErrTaskDoesNotExist = errors.New("task does not exist")
	// ErrInvalidOutput: SendTaskSuccess output is not JSON.
	ErrInvalidOutput = errors.New("invalid output")
)

type tokenResult struct {
	output any
	fail   *Failure
}

type tokenWaiter struct {
	result    chan tokenResult
	heartbeat chan struct{}
}

func (e *Engine) newToken() string {
	token := e.cfg.NewUUID() + e.cfg.NewUUID()
	e.mu.Lock()
	e.tokens[token] = &tokenWaiter{result: make(chan tokenResult, 1), heartbeat: make(chan struct{}, 1)}
	e.mu.Unlock()
	return token
}

func (e *Engine) tokenWaiter(token string) *tokenWaiter {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tokens[token]
}

func (e *Engine) dropToken(token string) {
	if token == "" {
		return
	}
	e.mu.Lock()
	delete(e.tokens, token)
	e.mu.Unlock()
}

func (e *Engine) takeToken(token string) (*tokenWaiter, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w, ok := e.tokens[token]
	if !ok {
		return nil, ErrTaskDoesNotExist
	}
	delete(e.tokens, token)
	return w, nil
}

// SendTaskSuccess completes the .waitForTaskToken task holding token with
// output (a JSON document).
func (e *Engine) SendTaskSuccess(token, output string) error {
	v, err := decodeJSON([]byte(output))
	if err != nil {
		return errors.Join(ErrInvalidOutput, err)
	}
	w, err := e.takeToken(token)
	if err != nil {
		return err
	}
	w.result <- tokenResult{output: v}
	return nil
}

// SendTaskFailure fails the task holding token with the given error name
// and cause.
func (e *Engine) SendTaskFailure(token, errName, cause string) error {
	w, err := e.takeToken(token)
	if err != nil {
		return err
	}
	w.result <- tokenResult{fail: &Failure{Name: errName, Cause: cause}}
	return nil
}

// SendTaskHeartbeat resets the HeartbeatSeconds timer of the task holding
// token.
func (e *Engine) SendTaskHeartbeat(token string) error {
	w := e.tokenWaiter(token)
	if w == nil {
		return ErrTaskDoesNotExist
	}
	select {
	case w.heartbeat <- struct{}{}:
	default:
	}
	return nil
}

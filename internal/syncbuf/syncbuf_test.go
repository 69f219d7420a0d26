package syncbuf

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBufferConcurrentWritesAndReads(t *testing.T) {
	var b Buffer
	var w io.Writer = &b
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range lines {
				_, err := fmt.Fprintf(w, "writer %d line %d\n", i, j)
				assert.NoError(t, err)
				_ = b.String() // reads race with writes unless locked
			}
		}()
	}
	wg.Wait()
	out := b.String()
	assert.Equal(t, writers*lines, strings.Count(out, "\n"))
	for i := range writers {
		assert.Contains(t, out, fmt.Sprintf("writer %d line %d\n", i, lines-1))
	}
}

func TestBufferZeroValue(t *testing.T) {
	var b Buffer
	assert.Equal(t, "", b.String())
	n, err := b.Write([]byte("abc"))
	assert.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, "abc", b.String())
}

package eventpattern

import "testing"

// FuzzCompileMatch feeds arbitrary patterns and events to the compiler and
// matcher: neither may panic, and a compiled pattern must give the same
// answer twice.
func FuzzCompileMatch(f *testing.F) {
	seeds := []struct{ pattern, event string }{
		{`{"source":["aws.s3"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}`, `{"source":"aws.s3","detail":{"object":{"key":"raw/a.csv"}}}`},
		{`{"detail":{"n":[{"numeric":[">",0,"<=",5]}]}}`, `{"detail":{"n":[1,7]}}`},
		{`{"a":[{"anything-but":{"wildcard":["*x*","y*"]}}]}`, `{"a":null}`},
		{`{"$or":[{"a":[{"exists":false}]},{"b":[{"cidr":"10.0.0.0/8"}]}]}`, `{"b":"10.1.2.3"}`},
		{`{"a.b":[{"equals-ignore-case":"X"}]}`, `{"a":{"b":"x"}}`},
		{`{"w":[{"wildcard":"a*b\\*c*"}]}`, `{"w":"aXXb*cY"}`},
	}
	for _, s := range seeds {
		f.Add(s.pattern, s.event)
	}
	f.Fuzz(func(t *testing.T, pattern, event string) {
		p, err := Compile([]byte(pattern))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("compile error is %T, want *Error", err)
			}
			return
		}
		m1, err1 := p.Match([]byte(event))
		m2, err2 := p.Match([]byte(event))
		if m1 != m2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("non-deterministic match: %v/%v %v/%v", m1, m2, err1, err2)
		}
	})
}

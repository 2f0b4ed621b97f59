package enum

import (
	"fmt"
	"strings"
)

// Names holds the names of an enum's values: Names[v] is the name of value v; "" marks a value
// without a name (e.g. an unused 0).
type Names[T ~int] []string

// String returns v's name, or typ(v) for a value without one (e.g. "Rule(7)").
func (n Names[T]) String(v T, typ string) string {
	if int(v) >= 0 && int(v) < len(n) && n[v] != "" {
		return n[v]
	}
	return fmt.Sprintf("%s(%d)", typ, int(v))
}

// Parse returns the value called name; the error, "pkg: unknown what "name" (want a, b or c)",
// lists the names.
func (n Names[T]) Parse(pkg, what, name string) (T, error) {
	for v, s := range n {
		if s != "" && s == name {
			return T(v), nil
		}
	}
	return 0, fmt.Errorf("%s: unknown %s %q (want %s)", pkg, what, name, n.List())
}

// List returns the names as "a, b or c".
func (n Names[T]) List() string {
	var list []string
	for _, s := range n {
		if s != "" {
			list = append(list, s)
		}
	}
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// Valid reports whether v has a name.
func (n Names[T]) Valid(v T) bool { return int(v) >= 0 && int(v) < len(n) && n[v] != "" }

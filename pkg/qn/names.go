package qn

import (
	"fmt"
	"strings"
)

// names maps the values of one of this package's enums (Spectrum, Update, Rule) to their
// command-line names.
type names[T ~int] map[T]string

func (m names[T]) str(v T, typ string) string {
	if s, ok := m[v]; ok {
		return s
	}
	return fmt.Sprintf("%s(%d)", typ, int(v))
}

func (m names[T]) parse(name, what string) (T, error) {
	for v, s := range m {
		if s == name {
			return v, nil
		}
	}
	list := make([]string, len(m))
	for v, s := range m {
		list[v] = s // the values are 0, 1, …, len(m)−1
	}
	want := strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
	return 0, fmt.Errorf("qn: unknown %s %q (want %s)", what, name, want)
}

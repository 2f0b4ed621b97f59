package models

import (
	"strings"
	"testing"

	"qnlab/pkg/backend"
)

func TestParameters(t *testing.T) {
	vars, total, err := Parameters(backend.MustDefault(), SimpleCNN)
	if err != nil || total != 206922 || len(vars) != 8 || !strings.HasPrefix(vars[0], "/conv1/") {
		t.Errorf("SimpleCNN: %d values in %v, %v; want 206,922 in 8 variables", total, vars, err)
	}
	if _, total, err := Parameters(backend.MustDefault(), MLP); err != nil || total != 101770 {
		t.Errorf("MLP: %d values, %v; want 101,770", total, err)
	}
}

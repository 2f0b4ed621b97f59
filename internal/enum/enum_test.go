package enum

import "testing"

type color int

var colors = Names[color]{"", "red", "green", "blue"}

func TestNames(t *testing.T) {
	if colors.String(2, "color") != "green" || colors.String(0, "color") != "color(0)" || colors.String(9, "color") != "color(9)" {
		t.Error("String")
	}
	if v, err := colors.Parse("x", "color", "blue"); err != nil || v != 3 {
		t.Errorf("Parse(blue) = %d, %v", v, err)
	}
	if _, err := colors.Parse("x", "color", ""); err == nil || err.Error() != `x: unknown color "" (want red, green or blue)` {
		t.Errorf("Parse(\"\") error %v", err)
	}
	if !colors.Valid(1) || colors.Valid(0) || colors.Valid(-1) || colors.Valid(4) {
		t.Error("Valid")
	}
}

// Package enum is qnlab's one pattern for enums: an int type whose values 0, 1, … have names
// (as flags, JSON and tables spell them), a String method and a Parse function built on Names.
package enum

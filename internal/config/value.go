package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// raw is one value as a source gave it, before it is read as its key's type.
type raw struct {
	text   string   // a scalar's text
	list   []string // a YAML sequence's items, when isList is set
	isList bool
	origin string // where it was set: "baton.yaml:12" or "env BATON_X"
}

// setting is one value that a source gives for one key.
type setting struct {
	key *key
	val raw
}

// apply reads the setting's value as its key's type and stores it in c.
func (s setting) apply(c *Config) error {
	ptr := s.key.field(c)
	if list, ok := ptr.(*[]string); ok {
		v, err := parseList(s.val)
		if err != nil {
			return s.badValue(describe(ptr) + ": " + err.Error())
		}
		*list = v
		return nil
	}
	if s.val.isList {
		return s.badValue(describe(ptr) + ", not a list")
	}
	if !store(ptr, s.val.text) {
		return s.badValue(describe(ptr))
	}
	return nil
}

// badValue returns an ErrBadValue error naming the key, value and origin.
func (s setting) badValue(want string) error {
	shown := s.val.text
	if s.val.isList {
		shown = "[" + strings.Join(s.val.list, ", ") + "]"
	}
	return fmt.Errorf("%w: %s = %q (%s): expected %s",
		ErrBadValue, s.key.name, clip(shown), s.val.origin, want)
}

// store parses text as the type ptr points to and stores it there. It
// reports whether text was valid.
func store(ptr any, text string) bool {
	switch p := ptr.(type) {
	case *string:
		*p = text
		return true
	case *time.Duration:
		return parseInto(p, text, parseDuration)
	case *int:
		return parseInto(p, text, parseInt)
	case *bool:
		return parseInto(p, text, parseBool)
	}
	return false
}

// parseInto stores parse(text) in p if it succeeds.
func parseInto[T any](p *T, text string, parse func(string) (T, bool)) bool {
	v, ok := parse(strings.TrimSpace(text))
	if ok {
		*p = v
	}
	return ok
}

// describe says what kind of value ptr's key takes, for error messages.
func describe(ptr any) string {
	switch ptr.(type) {
	case *[]string:
		return "a list of endpoints or a comma-separated string"
	case *time.Duration:
		return "a duration such as 10s, 500ms or 1m30s, or a number of seconds"
	case *int:
		return "an integer"
	case *bool:
		return "a boolean: true/false, 1/0 or yes/no"
	}
	return "a string"
}

// parseList reads an endpoint list from a YAML sequence or from a
// comma-separated string. Items are trimmed; an empty item is an error.
func parseList(v raw) ([]string, error) {
	items := v.list
	if !v.isList {
		items = strings.Split(v.text, ",")
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("item %d is empty", i+1)
		}
		out = append(out, item)
	}
	return out, nil
}

// maxSeconds is the largest number of seconds a time.Duration can hold.
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// parseDuration reads a Go duration string or a bare number of seconds.
func parseDuration(s string) (time.Duration, bool) {
	if !isNumber(s) {
		d, err := time.ParseDuration(s)
		return d, err == nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxSeconds {
		return 0, false
	}
	return time.Duration(math.Round(f * float64(time.Second))), true
}

// isNumber reports whether s looks like a plain decimal number: digits, an
// optional sign, point and exponent. It keeps ParseFloat from accepting
// "inf", "nan" and hexadecimal forms.
func isNumber(s string) bool {
	digits := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case strings.ContainsRune("+-.eE", r):
		default:
			return false
		}
	}
	return digits
}

// parseInt reads a decimal integer.
func parseInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// parseBool reads true/false, 1/0 or yes/no in any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// clip shortens s for an error message, so hostile input cannot make one
// huge.
func clip(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

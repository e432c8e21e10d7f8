// Package jsonscan walks JSON text already known to be valid without
// decoding it: it finds the members of an object and the elements of an
// array as slices of the text, so that a large value can be looked at a
// part at a time instead of being decoded whole.
//
// The functions trust their input: on text that is not valid JSON they
// return nonsense, never panic.
package jsonscan

import "encoding/json"

// Space returns the index of the first byte at or after i in data that is
// not JSON whitespace (len(data) if none).
func Space(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// End returns the index just past the JSON value that starts at data[i]
// (len(data) when it does not end).
func End(data []byte, i int) int {
	if i >= len(data) {
		return len(data)
	}
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(data)
	}
	// A number, true, false or null: up to the next delimiter.
	for ; i < len(data); i++ {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the string that starts at data[i].
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// Members calls f with the key (unquoted) and the value (as text) of each
// member of the object data, in order, until f returns false. data is one
// JSON object, with or without whitespace around it.
func Members(data []byte, f func(key string, value []byte) bool) {
	RawMembers(data, func(key, value []byte) bool { return f(unquote(key), value) })
}

// RawMembers is Members with each key as written — the string token,
// quotes and escapes included — so that a caller that compares keys
// allocates nothing. It reports whether it walked data to its end: data
// is one object, nothing but whitespace after it, and f never returned
// false.
func RawMembers(data []byte, f func(key, value []byte) bool) bool {
	i := Space(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = Space(data, i+1)
	for more := i < len(data) && data[i] == '"'; more; {
		if i >= len(data) || data[i] != '"' {
			return false // a comma, then no member
		}
		end := stringEnd(data, i)
		key := data[i:end]
		i = Space(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = Space(data, i+1)
		end = End(data, i)
		if !f(key, data[i:end]) {
			return false
		}
		i = Space(data, end)
		if more = i < len(data) && data[i] == ','; more {
			i = Space(data, i+1)
		}
	}
	return i < len(data) && data[i] == '}' && Space(data, i+1) == len(data)
}

// Elements calls f with the index and the value (as text) of each
// element of the array data, in order, until f returns false. data is one
// JSON array, with or without whitespace around it.
func Elements(data []byte, f func(i int, value []byte) bool) {
	i := Space(data, 0)
	if i >= len(data) || data[i] != '[' {
		return
	}
	i = Space(data, i+1)
	if i < len(data) && data[i] == ']' {
		return
	}
	for n := 0; i < len(data); n++ {
		end := End(data, i)
		if !f(n, data[i:end]) {
			return
		}
		i = Space(data, end)
		if i >= len(data) || data[i] != ',' {
			return
		}
		i = Space(data, i+1)
	}
}

// unquote returns the string the JSON string literal q stands for.
func unquote(q []byte) string {
	plain := len(q) >= 2
	for _, c := range q[1 : len(q)-1] {
		if c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(q[1 : len(q)-1])
	}
	var s string
	_ = json.Unmarshal(q, &s)
	return s
}

// Find returns the extent data[start:end] of the value of the member key
// of the object data; ok is false when data has no such member.
func Find(data []byte, key string) (start, end int, ok bool) {
	Members(data, func(k string, v []byte) bool {
		if k != key {
			return true
		}
		// v is a slice of data: its offset is what data has beyond it.
		start = cap(data) - cap(v)
		end, ok = start+len(v), true
		return false
	})
	return start, end, ok
}

// Compact reports whether the JSON text data has no whitespace outside
// its strings: whether json.Compact would leave it as it is.
func Compact(data []byte) bool {
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = stringEnd(data, i) - 1
		case ' ', '\t', '\n', '\r':
			return false
		}
	}
	return true
}

package sidekiq

import (
	"encoding/json"
	"strings"
)

// topLevelValue returns the raw text of the member key of the JSON object data starts with
// (the last one, as encoding/json keeps), without decoding the rest: Sidekiq payloads carry
// arguments of any size, and the scaler reads the oldest job of every queue every second. It
// checks only the syntax it needs to skip other members; ok is false when data is not an
// object or key is not a member. For valid JSON it agrees with encoding/json (FuzzEnqueuedAt).
func topLevelValue[T string | []byte](data T, key string) (value T, ok bool) {
	var none T
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return none, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return none, false
	}
	for {
		start := i
		end, good := skipString(data, i)
		if !good {
			return none, false
		}
		name := data[start:end]
		if i = skipSpace(data, end); i >= len(data) || data[i] != ':' {
			return none, false
		}
		i = skipSpace(data, i+1)
		vStart := i
		if i, good = skipValue(data, i); !good {
			return none, false
		}
		if keyIs(name, key) {
			value, ok = data[vStart:i], true
		}
		switch i = skipSpace(data, i); {
		case i < len(data) && data[i] == ',':
			i = skipSpace(data, i+1)
		case i < len(data) && data[i] == '}':
			return value, ok
		default:
			return none, false
		}
	}
}

// keyIs compares a quoted JSON key with key; only a key with escapes is decoded.
func keyIs[T string | []byte](quoted T, key string) bool {
	raw := quoted[1 : len(quoted)-1]
	if strings.IndexByte(string(raw), '\\') < 0 {
		return string(raw) == key
	}
	var s string
	return json.Unmarshal([]byte(quoted), &s) == nil && s == key
}

func skipSpace[T string | []byte](data T, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at data[i].
func skipString[T string | []byte](data T, i int) (int, bool) {
	if i >= len(data) || data[i] != '"' {
		return i, false
	}
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return i, false
}

// skipValue returns the index after the value starting at data[i]: a string, an object or
// array (nesting counted, strings inside skipped), or a number or literal.
func skipValue[T string | []byte](data T, i int) (int, bool) {
	if i >= len(data) {
		return i, false
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				end, ok := skipString(data, i)
				if !ok {
					return i, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return i, false
	}
	start := i
	for i < len(data) && strings.IndexByte(",}] \t\r\n", data[i]) < 0 {
		i++
	}
	return i, i > start
}

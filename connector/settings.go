package connector

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Settings are a connector's type-specific settings, as written under
// `settings:` in the declarative file (decoded from YAML or JSON: values are
// strings, numbers, booleans, lists and maps).
//
// Secrets are never given inline: a secret setting NAME is given as NAME_env
// (the name of an environment variable) or NAME_file (a path to a file whose
// content, without a trailing newline, is the secret), and read with
// Access.Secret, which allows only the variables and files the server lets
// connectors read.
type Settings map[string]any

// Spec lists the settings a connector type understands; Check refuses any
// other key except CommonSettings, and refuses a secret given inline.
type Spec struct {
	Required []string // plain settings that must be present
	Optional []string // plain settings that may be present
	Secrets  []string // secret settings, given as NAME_env or NAME_file
	// OptionalSecrets are secrets that may be left out entirely.
	OptionalSecrets []string
}

// Check validates s against spec. Errors name the offending key.
func (s Settings) Check(spec Spec) error {
	known := map[string]bool{}
	for _, k := range slices.Concat(spec.Required, spec.Optional, CommonSettings) {
		known[k] = true
	}
	secrets := slices.Concat(spec.Secrets, spec.OptionalSecrets)
	for _, k := range secrets {
		known[k+"_env"] = true
		known[k+"_file"] = true
	}
	for _, k := range sortedKeys(s) {
		if slices.Contains(secrets, k) {
			return fmt.Errorf("settings.%s: a secret is never given inline: use %s_env (an environment variable's name) or %s_file (a file's path)", k, k, k)
		}
		if !known[k] {
			return fmt.Errorf("settings.%s: unknown setting (known: %s)", k, strings.Join(sortedKeys(known), ", "))
		}
	}
	for _, k := range spec.Required {
		if _, ok := s[k]; !ok {
			return fmt.Errorf("settings.%s is required", k)
		}
	}
	for _, k := range spec.Secrets {
		_, env := s[k+"_env"]
		_, file := s[k+"_file"]
		if !env && !file {
			return fmt.Errorf("settings.%s_env or settings.%s_file is required", k, k)
		}
	}
	for _, k := range secrets {
		_, env := s[k+"_env"]
		_, file := s[k+"_file"]
		if env && file {
			return fmt.Errorf("settings: give %s_env or %s_file, not both", k, k)
		}
	}
	return nil
}

// String returns the string setting key, or def when it is absent. A number
// or boolean is returned in its usual text form.
func (s Settings) String(key, def string) string {
	v, ok := s[key]
	if !ok || v == nil {
		return def
	}
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// Bool returns the boolean setting key, or def when it is absent.
func (s Settings) Bool(key string, def bool) (bool, error) {
	v, ok := s[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return def, fmt.Errorf("settings.%s: %q is not true or false", key, v)
		}
		return b, nil
	}
	return def, fmt.Errorf("settings.%s: want true or false", key)
}

// Int returns the integer setting key, or def when it is absent.
func (s Settings) Int(key string, def int) (int, error) {
	v, ok := s[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		if v == float64(int(v)) {
			return int(v), nil
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n, nil
		}
	}
	return def, fmt.Errorf("settings.%s: want a whole number", key)
}

// Duration returns the duration setting key (Go syntax, e.g. "30s"), or def.
func (s Settings) Duration(key string, def time.Duration) (time.Duration, error) {
	v := s.String(key, "")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("settings.%s: %q is not a duration like 30s or 5m", key, v)
	}
	return d, nil
}

// StringMap returns the map setting key with string values (for example an
// attribute mapping). Absent gives an empty map.
func (s Settings) StringMap(key string) (map[string]string, error) {
	v, ok := s[key]
	if !ok || v == nil {
		return map[string]string{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		if sm, ok := v.(map[string]string); ok {
			return sm, nil
		}
		return nil, fmt.Errorf("settings.%s: want a map of names to strings", key)
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		str, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("settings.%s.%s: want a string", key, k)
		}
		out[k] = str
	}
	return out, nil
}

// Strings returns the list setting key as strings. Absent gives nil.
func (s Settings) Strings(key string) ([]string, error) {
	v, ok := s[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch v := v.(type) {
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			str, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("settings.%s[%d]: want a string", key, i)
			}
			out = append(out, str)
		}
		return out, nil
	}
	return nil, fmt.Errorf("settings.%s: want a list of strings", key)
}

// HasSecret reports whether secret key is configured (as key_env or key_file).
func (s Settings) HasSecret(key string) bool {
	_, env := s[key+"_env"]
	_, file := s[key+"_file"]
	return env || file
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

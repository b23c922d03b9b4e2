package pgroles

import (
	"errors"
	"slices"
	"testing"
)

func TestDSNSecrets(t *testing.T) {
	tests := []struct {
		dsn  string
		want []string // must be among the secrets
	}{
		{"postgres://u:p%40ss@h:5432/db", []string{"p@ss", "p%40ss"}},
		{"postgresql://u@h/db?password=qpw&sslpassword=kpw", []string{"qpw", "kpw"}},
		{"host=h user=u password=plain dbname=db", []string{"plain"}},
		{`host=h password='it\'s \\quoted pw' user=u`, []string{`it's \quoted pw`}},
		{"host=h password = spaced", []string{"spaced"}},
		{"postgres://u:raw/pw@x@h:bad/db", []string{"raw/pw@x"}},
	}
	for _, tt := range tests {
		got := dsnSecrets(tt.dsn)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("dsnSecrets(%q) = %q, lacks %q", tt.dsn, got, w)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	base := errors.New("plain failure")
	if got := redact(base, []string{"secret"}); got != base {
		t.Errorf("an error without secrets was replaced: %v", got)
	}
	got := redact(errors.New(`database "secret-long" does not exist`), []string{"secret", "secret-long"})
	if want := `database "xxxxx" does not exist`; got.Error() != want {
		t.Errorf("redact = %q, want %q", got, want)
	}
	if errors.Unwrap(got) != nil {
		t.Errorf("the redacted error keeps a chain, which would still show the secret")
	}
}

package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rosterhq/roster/cli"
)

// TestServeSSO checks the single sign-on settings of roster serve: flags or
// the environment, the secret read from the variable named, and the refusals
// of settings that do not go together.
func TestServeSSO(t *testing.T) {
	e := newEnv(t)
	var got []cli.ServeConfig
	e.serve = func(ctx context.Context, cfg cli.ServeConfig) error {
		got = append(got, cfg)
		return nil
	}
	e.vars["IDP_SECRET"] = "s3cret"

	// From flags.
	if _, stderr, code := e.run("serve", "--base-url", "https://roster.example.com", "--oidc-issuer", "https://idp.example.com",
		"--oidc-client-id", "roster", "--oidc-client-secret-env", "IDP_SECRET"); code != 0 {
		t.Fatalf("serve with SSO flags: exit %d, %s", code, stderr)
	}
	// From the environment, a flag taking precedence.
	e.vars["ROSTER_BASE_URL"] = "https://roster.example.org"
	e.vars["ROSTER_OIDC_ISSUER"] = "https://idp.example.org"
	e.vars["ROSTER_OIDC_CLIENT_ID"] = "roster-env"
	e.vars["ROSTER_OIDC_CLIENT_SECRET_ENV"] = "IDP_SECRET"
	if _, stderr, code := e.run("serve", "--oidc-client-id", "roster-flag"); code != 0 {
		t.Fatalf("serve with SSO variables: exit %d, %s", code, stderr)
	}
	if len(got) != 2 {
		t.Fatalf("%d starts, want 2", len(got))
	}
	for i, want := range []cli.ServeConfig{
		{BaseURL: "https://roster.example.com", OIDCIssuer: "https://idp.example.com", OIDCClientID: "roster", OIDCClientSecretEnv: "IDP_SECRET", OIDCClientSecret: "s3cret"},
		{BaseURL: "https://roster.example.org", OIDCIssuer: "https://idp.example.org", OIDCClientID: "roster-flag", OIDCClientSecretEnv: "IDP_SECRET", OIDCClientSecret: "s3cret"},
	} {
		g := got[i]
		if g.BaseURL != want.BaseURL || g.OIDCIssuer != want.OIDCIssuer || g.OIDCClientID != want.OIDCClientID ||
			g.OIDCClientSecretEnv != want.OIDCClientSecretEnv || g.OIDCClientSecret != want.OIDCClientSecret {
			t.Errorf("start %d: SSO settings %+v, want %+v", i, g, want)
		}
	}

	// Settings that do not go together are refused before anything starts.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--oidc-client-id", ""}, "needs --oidc-client-id"},
		{[]string{"--base-url", ""}, "needs --base-url"},
		{[]string{"--oidc-client-secret-env", ""}, "needs --oidc-client-secret-env"},
		{[]string{"--oidc-client-secret-env", "UNSET_SECRET"}, "UNSET_SECRET, which is not set"},
		{[]string{"--oidc-client-secret-env", "ROSTER_SECRET_IDP"}, "connectors could read the client secret"},
		{[]string{"--oidc-issuer", ""}, "need --oidc-issuer"},
	} {
		e.vars["ROSTER_SECRET_IDP"] = "s3cret"
		_, stderr, code := e.run(append([]string{"serve"}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d starts, want 2: a refused serve started", len(got))
	}
}

package ldap

import "testing"

func TestLikeFilter(t *testing.T) {
	tests := []struct{ attr, id, want string }{
		{"uid", "alice", "(uid=alice)"},
		{"uid", "john-smith", "(uid=john*smith)"},
		{"uid", "a--b-", "(uid=a*b*)"},
		{"cn", "x(y)", `(cn=x\28y\29)`},
		{"cn", "a*b", `(cn=a\2ab)`},
		{"uid", "", "(uid=)"},
	}
	for _, tt := range tests {
		if got := likeFilter(tt.attr, tt.id); got != tt.want {
			t.Errorf("likeFilter(%q, %q) = %q, want %q", tt.attr, tt.id, got, tt.want)
		}
	}
}

func TestDNKey(t *testing.T) {
	same := [][]string{
		{"uid=alice,ou=people,dc=example,dc=org", "UID=Alice, OU=People, DC=Example, DC=Org", "uid = alice ,ou=people,dc=example,dc=org"},
		{"cn=a+sn=b,dc=x", "SN=B+CN=A,DC=X"},
		{`cn=Smith\, John,dc=x`, `cn=smith\2c john,dc=x`},
	}
	for _, group := range same {
		for _, dn := range group[1:] {
			if dnKey(dn) != dnKey(group[0]) || dnKey(dn) == "" {
				t.Errorf("dnKey(%q) = %q, dnKey(%q) = %q; want equal", dn, dnKey(dn), group[0], dnKey(group[0]))
			}
		}
	}
	if dnKey("uid=alice,dc=x") == dnKey("uid=alice,dc=y") {
		t.Error("different DNs give the same key")
	}
	for _, bad := range []string{"", "alice", "uid=alice,,"} {
		if k := dnKey(bad); k != "" {
			t.Errorf("dnKey(%q) = %q, want empty for a non-DN", bad, k)
		}
	}
}

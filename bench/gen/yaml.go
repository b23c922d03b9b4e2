package gen

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteYAML writes the organisation as a declarative file that `roster apply`
// accepts: settings, the auto policy, users, apps with their entitlements,
// direct grants and profiles, one object per line in flow style. It streams
// through a buffer, so it works for any size without building the file in
// memory. Profiles are written with their automation enabled, so applying
// the file syncs every profile.
func (o *Org) WriteYAML(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("settings: {default_request_policy: auto, default_revoke_policy: auto, sync_interval: 1h, automations_enabled: true, safeguard: {min_members: %d, max_removal_percent: 20}}\n", o.safeguardMinMembers())
	p("policies:\n  - {id: %s, steps: []}\n", PolicyAuto)
	p("users:\n")
	for i, u := range o.Users {
		id := UserID(i)
		p("  - {id: %s, email: %s@example.com, name: User %s, department: %s, title: %s, location: %s, employment_type: %s", id, id, id[1:], o.Departments[u.Department],
			Title(i), Locations[i%len(Locations)], EmploymentType(i))
		if u.Manager >= 0 {
			p(", manager: %s", UserID(int(u.Manager)))
		}
		if u.Disabled {
			p(", status: disabled")
		}
		p("}\n")
	}
	p("apps:\n")
	e := 0
	for a := 0; a < o.Config.Apps; a++ {
		p("  - id: %s\n    name: App %03d\n    owners: [%s]\n    entitlements:\n", AppID(a), a+1, UserID(o.appOwner(a)))
		for ; e < o.Config.Entitlements && o.AppOf(e) == a; e++ {
			p("      - {id: %s, name: %s, request_policy: %s, revoke_policy: %s, provisioning: auto}\n", entLocalID(e), o.EntitlementName(e), PolicyAuto, PolicyAuto)
		}
	}
	p("grants:\n")
	for u, gs := range o.Grants {
		id := UserID(u)
		for _, g := range gs {
			p("  - {user: %s, entitlement: %s}\n", id, o.EntitlementID(int(g)))
		}
	}
	o.writeProfiles(bw)
	return bw.Flush()
}

// WriteProfilesYAML writes the organisation's profiles alone, with their
// automation enabled, as WriteYAML does: applied to the organisation Load
// wrote with State Off, it switches every profile on at once.
func (o *Org) WriteProfilesYAML(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	o.writeProfiles(bw)
	return bw.Flush()
}

func (o *Org) writeProfiles(bw *bufio.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("profiles:\n")
	for i, pr := range o.Profiles {
		id := ProfileID(i)
		if pr.Expression != "" {
			p("  - {id: %s, name: Profile %s, entitlements: [%s], enrollment: {policy: %s, bypass_entitlement_policies: true}, unenrollment: {policy: %s}, automation: {enabled: true, mode: %s, expression: '%s', safeguard: true}}\n",
				id, id[2:], o.entList(pr.Content), PolicyAuto, PolicyAuto, pr.mode(), pr.Expression)
			continue
		}
		p("  - {id: %s, name: Profile %s, entitlements: [%s], enrollment: {policy: %s, bypass_entitlement_policies: true}, unenrollment: {policy: %s}, automation: {enabled: true, mode: %s, any_entitlement: [%s], safeguard: true}}\n",
			id, id[2:], o.entList(pr.Content), PolicyAuto, PolicyAuto, pr.mode(), o.entList(pr.Rule))
	}
}

// PolicyAuto is the id of the one policy a generated organisation declares:
// no steps, so every request is approved at once.
const PolicyAuto = "auto"

// safeguardMinMembers is the tenant's safeguard min_members: above any
// profile's size, so the safeguard stays out of the way.
func (o *Org) safeguardMinMembers() int { return len(o.Users) + 1 }

// appOwner is the user who owns app a: one of the CEO's direct reports.
func (o *Org) appOwner(a int) int {
	if len(o.Users) < 2 {
		return 0
	}
	return 1 + a%min(6, len(o.Users)-1)
}

func (o *Org) entList(es []int32) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.EntitlementID(int(e)))
	}
	return b.String()
}

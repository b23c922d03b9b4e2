package scimtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	filterparser "github.com/scim2/filter-parser/v2"
)

// userHandler serves /Users from the Server's memory.
type userHandler struct{ s *Server }

// groupHandler serves /Groups from the Server's memory.
type groupHandler struct{ s *Server }

var (
	_ scim.ResourceHandler = userHandler{}
	_ scim.ResourceHandler = groupHandler{}
)

// page applies a listing's filter and paging to resources, given in
// creation order with the attributes a filter is matched against.
func page(params scim.ListRequestParams, ids []string, filterable func(id string) map[string]any, resource func(id string) scim.Resource) (p scim.Page, err error) {
	defer func() {
		// The library's matcher panics on some filters it validated (for
		// example eq on a complex attribute): answer invalidFilter.
		if recover() != nil {
			p, err = scim.Page{}, scimerrors.ScimErrorInvalidFilter
		}
	}()
	if v := params.FilterValidator; v != nil {
		unescape(v.GetFilter())
	}
	var matched []string
	for _, id := range ids {
		if v := params.FilterValidator; v != nil && v.PassesFilter(filterable(id)) != nil {
			continue
		}
		matched = append(matched, id)
	}
	p = scim.Page{TotalResults: len(matched), Resources: []scim.Resource{}}
	start := min(max(params.StartIndex-1, 0), len(matched))
	end := min(start+max(params.Count, 0), len(matched))
	for _, id := range matched[start:end] {
		p.Resources = append(p.Resources, resource(id))
	}
	return p, nil
}

// unescape turns the string values compared in e, which the parser leaves
// as written, into the strings they denote: RFC 7644 section 3.4.2.2 makes
// them JSON strings, so `displayName eq "Dev \"Ops\""` is about the name
// Dev "Ops".
func unescape(e filterparser.Expression) {
	switch e := e.(type) {
	case *filterparser.AttributeExpression:
		if raw, ok := e.CompareValue.(string); ok && strings.Contains(raw, `\`) {
			var v string
			if json.Unmarshal([]byte(`"`+raw+`"`), &v) == nil {
				e.CompareValue = v
			}
		}
	case *filterparser.LogicalExpression:
		unescape(e.Left)
		unescape(e.Right)
	case *filterparser.NotExpression:
		unescape(e.Expression)
	case *filterparser.ValuePath:
		unescape(e.ValueFilter)
	}
}

// --- users

func (s *Server) userAttributes(u *userRecord) scim.ResourceAttributes {
	a := scim.ResourceAttributes{"userName": u.UserName, "active": !u.Inactive}
	if u.DisplayName != "" {
		a["displayName"] = u.DisplayName
	}
	if u.Formatted != "" {
		a["name"] = map[string]any{"formatted": u.Formatted}
	}
	if u.Title != "" {
		a["title"] = u.Title
	}
	if len(u.Emails) > 0 {
		var emails []any
		for i, e := range u.Emails {
			emails = append(emails, map[string]any{"value": e, "type": "work", "primary": i == u.Primary})
		}
		a["emails"] = emails
	}
	if u.Department != "" || u.Manager != "" {
		ext := map[string]any{}
		if u.Department != "" {
			ext["department"] = u.Department
		}
		if u.Manager != "" {
			m := map[string]any{"value": u.Manager, "$ref": s.URL + "/Users/" + url.PathEscape(u.Manager)}
			if mgr, ok := s.users[u.Manager]; ok && mgr.DisplayName != "" {
				m["displayName"] = mgr.DisplayName
			}
			ext["manager"] = m
		}
		a[EnterpriseUserSchema] = ext
	}
	return a
}

func (s *Server) userResource(id string) scim.Resource {
	u := s.users[id]
	r := scim.Resource{ID: id, Attributes: s.userAttributes(u)}
	if u.ExternalID != "" {
		r.ExternalID = optional.NewString(u.ExternalID)
	}
	return r
}

// userFilterable is what a filter is matched against: the attributes with
// id and externalId, and the extension's attributes also under their full
// names (the library's matcher looks for "urn:...:User:department").
func (s *Server) userFilterable(id string) map[string]any {
	u := s.users[id]
	a := map[string]any{"id": id}
	for k, v := range s.userAttributes(u) {
		a[k] = v
	}
	if u.ExternalID != "" {
		a["externalId"] = u.ExternalID
	}
	if ext, ok := a[EnterpriseUserSchema].(map[string]any); ok {
		for k, v := range ext {
			a[EnterpriseUserSchema+":"+k] = v
		}
	}
	return a
}

func (s *Server) userIDs() []string {
	var ids []string
	for _, id := range s.order {
		if _, ok := s.users[id]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// parseUser reads the attributes the library validated into a User.
func parseUser(a scim.ResourceAttributes) User {
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	u := User{
		UserName:    str(a, "userName"),
		ExternalID:  str(a, "externalId"),
		DisplayName: str(a, "displayName"),
		Title:       str(a, "title"),
		Primary:     -1,
	}
	if active, ok := a["active"].(bool); ok {
		u.Inactive = !active
	}
	if name, ok := a["name"].(map[string]any); ok {
		u.Formatted = str(name, "formatted")
	}
	if emails, ok := a["emails"].([]any); ok {
		for _, e := range emails {
			if m, ok := e.(map[string]any); ok {
				if p, _ := m["primary"].(bool); p {
					u.Primary = len(u.Emails)
				}
				u.Emails = append(u.Emails, str(m, "value"))
			}
		}
	}
	if ext, ok := a[EnterpriseUserSchema].(map[string]any); ok {
		u.Department = str(ext, "department")
		if m, ok := ext["manager"].(map[string]any); ok {
			u.Manager = str(m, "value")
		}
	}
	return u
}

func (s *Server) checkUserName(u User, id string) error {
	if u.UserName == "" {
		return scimerrors.ScimErrorInvalidValue
	}
	for _, other := range s.users {
		if other.id != id && strings.EqualFold(other.UserName, u.UserName) {
			return scimerrors.ScimErrorUniqueness
		}
	}
	return nil
}

func (h userHandler) Create(_ *http.Request, a scim.ResourceAttributes) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	u := parseUser(a)
	if err := h.s.checkUserName(u, ""); err != nil {
		return scim.Resource{}, err
	}
	return h.s.userResource(h.s.addUser(u)), nil
}

func (h userHandler) Get(_ *http.Request, id string) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if _, ok := h.s.users[id]; !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return h.s.userResource(id), nil
}

func (h userHandler) GetAll(_ *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return page(params, h.s.userIDs(), h.s.userFilterable, h.s.userResource)
}

func (h userHandler) Replace(_ *http.Request, id string, a scim.ResourceAttributes) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	rec, ok := h.s.users[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	u := parseUser(a)
	if err := h.s.checkUserName(u, id); err != nil {
		return scim.Resource{}, err
	}
	rec.User = u
	return h.s.userResource(id), nil
}

func (h userHandler) Delete(_ *http.Request, id string) error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if _, ok := h.s.users[id]; !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	h.s.deleteResource(id)
	return nil
}

// Patch applies add, replace and remove operations to a user's attributes,
// with replace semantics for add (enough to change active, title or the
// enterprise department and manager). Paths with value filters are not
// supported.
func (h userHandler) Patch(_ *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	rec, ok := h.s.users[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	a := h.s.userAttributes(rec)
	if rec.ExternalID != "" {
		a["externalId"] = rec.ExternalID
	}
	for _, op := range ops {
		if op.Path == nil {
			values, ok := op.Value.(map[string]any)
			if !ok || op.Op == scim.PatchOperationRemove {
				return scim.Resource{}, scimerrors.ScimErrorNoTarget
			}
			for k, v := range values {
				if ext, ok := v.(map[string]any); ok && k == EnterpriseUserSchema {
					target, _ := a[k].(map[string]any)
					if target == nil {
						target = map[string]any{}
					}
					for ek, ev := range ext {
						target[ek] = ev
					}
					v = target
				}
				a[k] = v
			}
			continue
		}
		if op.Path.ValueExpression != nil {
			return scim.Resource{}, scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidPath, "scimtest: value filters in user patch paths are not supported")
		}
		target := map[string]any(a)
		if op.Path.AttributePath.URI() == EnterpriseUserSchema {
			ext, _ := a[EnterpriseUserSchema].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				a[EnterpriseUserSchema] = ext
			}
			target = ext
		}
		name := op.Path.AttributePath.AttributeName
		if sub := op.Path.AttributePath.SubAttributeName(); sub != "" {
			m, _ := target[name].(map[string]any)
			if m == nil {
				m = map[string]any{}
				target[name] = m
			}
			target, name = m, sub
		}
		if op.Op == scim.PatchOperationRemove {
			delete(target, name)
		} else {
			target[name] = op.Value
		}
	}
	u := parseUser(a)
	if err := h.s.checkUserName(u, id); err != nil {
		return scim.Resource{}, err
	}
	rec.User = u
	return h.s.userResource(id), nil
}

// --- groups

func (s *Server) memberValues(g *groupRecord) []any {
	var members []any
	for _, m := range g.members {
		members = append(members, s.memberValue(m))
	}
	return members
}

// memberValue is the members value for the user or group with SCIM id m.
func (s *Server) memberValue(m string) map[string]any {
	v := map[string]any{"value": m}
	if u, ok := s.users[m]; ok {
		v["type"], v["display"], v["$ref"] = "User", u.UserName, s.URL+"/Users/"+url.PathEscape(m)
	} else if sub, ok := s.groups[m]; ok {
		v["type"], v["display"], v["$ref"] = "Group", sub.displayName, s.URL+"/Groups/"+url.PathEscape(m)
	}
	return v
}

func (s *Server) groupResource(id string, withMembers bool) scim.Resource {
	g := s.groups[id]
	a := scim.ResourceAttributes{"displayName": g.displayName}
	if withMembers {
		a["members"] = s.memberValues(g)
	}
	return scim.Resource{ID: id, Attributes: a}
}

func (s *Server) groupIDs() []string {
	var ids []string
	for _, id := range s.order {
		if _, ok := s.groups[id]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}

func (s *Server) checkMembers(members []string) error {
	for _, m := range members {
		_, user := s.users[m]
		_, group := s.groups[m]
		if !user && !group {
			return scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, fmt.Sprintf("member %s is not a user or group", m))
		}
	}
	return nil
}

func (s *Server) checkDisplayName(name, id string) error {
	if name == "" {
		return scimerrors.ScimErrorInvalidValue
	}
	for _, g := range s.groups {
		if g.id != id && g.displayName == name {
			return scimerrors.ScimErrorUniqueness
		}
	}
	return nil
}

// memberIDs reads the value of each member in a validated members value.
func memberIDs(v any) []string {
	var ids []string
	list, _ := v.([]any)
	if m, ok := v.(map[string]any); ok {
		list = []any{m}
	}
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			if id, _ := m["value"].(string); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func (h groupHandler) Create(_ *http.Request, a scim.ResourceAttributes) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	name, _ := a["displayName"].(string)
	if err := h.s.checkDisplayName(name, ""); err != nil {
		return scim.Resource{}, err
	}
	members := memberIDs(a["members"])
	if err := h.s.checkMembers(members); err != nil {
		return scim.Resource{}, err
	}
	return h.s.groupResource(h.s.addGroup(name, members), true), nil
}

func (h groupHandler) Get(r *http.Request, id string) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if _, ok := h.s.groups[id]; !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return h.s.groupResource(id, wantMembers(r)), nil
}

// wantMembers is false when the request's excludedAttributes names members.
func wantMembers(r *http.Request) bool {
	for _, a := range strings.Split(r.URL.Query().Get("excludedAttributes"), ",") {
		if strings.EqualFold(strings.TrimSpace(a), "members") {
			return false
		}
	}
	return true
}

func (h groupHandler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	filterable := func(id string) map[string]any {
		g := h.s.groups[id]
		return map[string]any{"id": id, "displayName": g.displayName, "members": h.s.memberValues(g)}
	}
	members := wantMembers(r)
	return page(params, h.s.groupIDs(), filterable, func(id string) scim.Resource { return h.s.groupResource(id, members) })
}

func (h groupHandler) Replace(_ *http.Request, id string, a scim.ResourceAttributes) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	g, ok := h.s.groups[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	name, _ := a["displayName"].(string)
	if err := h.s.checkDisplayName(name, id); err != nil {
		return scim.Resource{}, err
	}
	members := memberIDs(a["members"])
	if err := h.s.checkMembers(members); err != nil {
		return scim.Resource{}, err
	}
	g.displayName, g.members = name, members
	return h.s.groupResource(id, true), nil
}

func (h groupHandler) Delete(_ *http.Request, id string) error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if _, ok := h.s.groups[id]; !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	h.s.deleteResource(id)
	return nil
}

var membersAttribute, _ = schema.CoreGroupSchema().Attributes.ContainsAttribute("members")

// Patch applies operations on displayName and members. Adding a member that
// is there changes nothing; removing with a value filter that matches no
// member is a noTarget error (RFC 7644 section 3.5.2.2); removing members
// listed in value (as some clients do) ignores those that are absent. When
// nothing changed the answer is 204 No Content.
func (h groupHandler) Patch(_ *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	g, ok := h.s.groups[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	// Work on a copy so that a failing operation changes nothing.
	name, members := g.displayName, slices.Clone(g.members)
	add := func(ids []string) error {
		if err := h.s.checkMembers(ids); err != nil {
			return err
		}
		for _, m := range ids {
			if !slices.Contains(members, m) {
				members = append(members, m)
			}
		}
		return nil
	}
	for _, op := range ops {
		if op.Path == nil {
			values, ok := op.Value.(map[string]any)
			if !ok || op.Op == scim.PatchOperationRemove {
				return scim.Resource{}, scimerrors.ScimErrorNoTarget
			}
			for k, v := range values {
				switch strings.ToLower(k) {
				case "displayname":
					name, _ = v.(string)
				case "members":
					if op.Op == scim.PatchOperationReplace {
						members = nil
					}
					if err := add(memberIDs(v)); err != nil {
						return scim.Resource{}, err
					}
				default:
					return scim.Resource{}, scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidPath, "scimtest: cannot patch "+k)
				}
			}
			continue
		}
		attr := strings.ToLower(op.Path.AttributePath.AttributeName)
		switch {
		case attr == "displayname" && op.Op != scim.PatchOperationRemove:
			name, _ = op.Value.(string)
		case attr == "members" && op.Op == scim.PatchOperationRemove && op.Path.ValueExpression != nil:
			unescape(op.Path.ValueExpression)
			v := filter.NewFilterValidator(op.Path.ValueExpression, schema.Schema{
				Attributes: filter.MultiValuedFilterAttributes(membersAttribute),
			})
			before := len(members)
			members = slices.DeleteFunc(members, func(m string) (match bool) {
				defer func() {
					if recover() != nil {
						match = false
					}
				}()
				return v.PassesFilter(h.s.memberValue(m)) == nil
			})
			if len(members) == before {
				return scim.Resource{}, scimError(http.StatusBadRequest, scimerrors.ScimTypeNoTarget,
					"No member matches "+op.Path.String()+".")
			}
		case attr == "members" && op.Op == scim.PatchOperationRemove:
			if op.Value == nil {
				members = nil
				break
			}
			drop := memberIDs(op.Value)
			members = slices.DeleteFunc(members, func(m string) bool { return slices.Contains(drop, m) })
		case attr == "members" && op.Path.ValueExpression == nil && op.Path.SubAttributeName() == "":
			if op.Op == scim.PatchOperationReplace {
				members = nil
			}
			if err := add(memberIDs(op.Value)); err != nil {
				return scim.Resource{}, err
			}
		default:
			return scim.Resource{}, scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidPath,
				"scimtest: unsupported "+op.Op+" of "+op.Path.String())
		}
	}
	if err := h.s.checkDisplayName(name, id); err != nil {
		return scim.Resource{}, err
	}
	if name == g.displayName && slices.Equal(members, g.members) {
		return scim.Resource{}, nil
	}
	g.displayName, g.members = name, members
	return h.s.groupResource(id, true), nil
}

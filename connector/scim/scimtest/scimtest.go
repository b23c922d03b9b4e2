// Package scimtest is an in-memory SCIM 2.0 service provider for tests,
// built on github.com/elimity-com/scim and served by an httptest.Server.
//
// It serves /Users (the core User schema with the enterprise extension) and
// /Groups (displayName and members) under URL, checks the bearer token,
// honours filter, startIndex and count on listings, and applies PATCH
// operations on group members the way RFC 7644 section 3.5.2 describes:
// adding a member that is there changes nothing, removing with a
// members[value eq "..."] path that matches no member answers 400 noTarget.
// Users and groups are seeded, read and changed directly through the
// Server's methods; a fault hook makes it fail chosen requests.
//
//	srv := scimtest.New("s3cret", scimtest.WithMaxResults(2))
//	defer srv.Close()
//	bob := srv.AddUser(scimtest.User{UserName: "bob", Emails: []string{"bob@example.com"}})
//	srv.AddGroup("Engineering", bob)
package scimtest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// BasePath is the path below the test server's address at which the SCIM
// endpoints are served.
const BasePath = "/scim/v2"

// EnterpriseUserSchema is the enterprise User extension's schema URN.
const EnterpriseUserSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// User is a user to seed.
type User struct {
	UserName    string
	ExternalID  string
	DisplayName string
	Formatted   string // name.formatted
	Title       string
	// Emails are the e-mail addresses; the one at index Primary is marked
	// primary, unless Primary is -1 (none is).
	Emails  []string
	Primary int
	// Inactive sets active to false (seeded users are active otherwise).
	Inactive   bool
	Department string // enterprise extension department
	Manager    string // enterprise extension manager.value: the manager's SCIM id
}

// Option configures a Server.
type Option func(*Server)

// WithMaxResults caps the page size the server returns, whatever count a
// client asks for (ServiceProviderConfig filter.maxResults). Default 100.
func WithMaxResults(n int) Option { return func(s *Server) { s.maxResults = n } }

// Server is a running in-memory SCIM service provider.
type Server struct {
	// URL is the SCIM base URL (the test server's address and BasePath).
	URL string
	// Token is the bearer token requests must carry.
	Token string

	http       *httptest.Server
	handler    http.Handler
	maxResults int

	mu       sync.Mutex
	seq      int
	users    map[string]*userRecord
	groups   map[string]*groupRecord
	order    []string // ids in creation order, users and groups
	fault    func(*http.Request) int
	requests []string
}

type userRecord struct {
	id string
	User
}

type groupRecord struct {
	id          string
	displayName string
	members     []string // SCIM ids, users or groups
}

// New starts a provider that accepts token. Close it when done.
func New(token string, opts ...Option) *Server {
	s := &Server{
		Token:      token,
		maxResults: 100,
		users:      map[string]*userRecord{},
		groups:     map[string]*groupRecord{},
	}
	for _, o := range opts {
		o(s)
	}
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		s.mu.Unlock()
		s.handler.ServeHTTP(w, r)
	}))
	s.URL = s.http.URL + BasePath

	userType := scim.ResourceType{
		ID:               optional.NewString("User"),
		Name:             "User",
		Endpoint:         "/Users",
		Description:      optional.NewString("User Account"),
		Schema:           schema.CoreUserSchema(),
		SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}},
		Handler:          userHandler{s},
	}
	groupType := scim.ResourceType{
		ID:          optional.NewString("Group"),
		Name:        "Group",
		Endpoint:    "/Groups",
		Description: optional.NewString("Group"),
		Schema:      schema.CoreGroupSchema(),
		Handler:     groupHandler{s},
	}
	provider, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			MaxResults:       s.maxResults,
			SupportFiltering: true,
			SupportPatch:     true,
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type: scim.AuthenticationTypeOauthBearerToken, Name: "Bearer token", Primary: true,
				Description: "A bearer token in the Authorization header.",
			}},
		},
		ResourceTypes: []scim.ResourceType{userType, groupType},
	}, scim.WithBaseURL(s.URL))
	if err != nil {
		panic("scimtest: " + err.Error()) // only on a programming error here
	}
	mux := http.NewServeMux()
	mux.Handle(BasePath+"/", http.StripPrefix(BasePath, s.guard(provider)))
	s.handler = mux
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.http.Close() }

// guard applies the fault hook and checks the bearer
// token before handing the request to the SCIM server.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		fault := s.fault
		s.mu.Unlock()
		if fault != nil {
			if status := fault(r); status != 0 {
				writeError(w, status, "", "injected fault")
				return
			}
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scimtest"`)
			writeError(w, http.StatusUnauthorized, "", "Authorization failure: the bearer token is missing or invalid.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeError(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	body := map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  strconv.Itoa(status),
		"detail":  detail,
	}
	if scimType != "" {
		body["scimType"] = scimType
	}
	_ = json.NewEncoder(w).Encode(body)
}

// SetFault installs f, called with every request before the token is
// checked: when it returns a non-zero HTTP status the request fails with it
// (and a SCIM error body). f is called without the server's lock held, so it
// may also change the server's data, for example delete a group as a PATCH
// arrives. Nil removes the hook.
func (s *Server) SetFault(f func(*http.Request) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Requests returns the requests received so far, as "METHOD /path?query"
// (the path below the server's address), and forgets them.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("%04d", s.seq)
}

// AddUser stores u and returns its SCIM id.
func (s *Server) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUser(u)
}

func (s *Server) addUser(u User) string {
	id := s.nextID()
	s.users[id] = &userRecord{id: id, User: u}
	s.order = append(s.order, id)
	return id
}

// UpdateUser changes the user with SCIM id with change. It reports whether
// the user exists.
func (s *Server) UpdateUser(id string, change func(*User)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if ok {
		change(&u.User)
	}
	return ok
}

// DeleteUser deletes the user with SCIM id, and their memberships.
func (s *Server) DeleteUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteResource(id)
}

// AddGroup stores a group with displayName and the given members (SCIM ids
// of users or groups) and returns its SCIM id.
func (s *Server) AddGroup(displayName string, members ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addGroup(displayName, members)
}

func (s *Server) addGroup(displayName string, members []string) string {
	id := s.nextID()
	s.groups[id] = &groupRecord{id: id, displayName: displayName, members: slices.Clone(members)}
	s.order = append(s.order, id)
	return id
}

// DeleteGroup deletes the group with SCIM id.
func (s *Server) DeleteGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteResource(id)
}

func (s *Server) deleteResource(id string) {
	delete(s.users, id)
	delete(s.groups, id)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
	for _, g := range s.groups {
		g.members = slices.DeleteFunc(g.members, func(x string) bool { return x == id })
	}
}

// GroupID returns the SCIM id of the group with displayName, or "".
func (s *Server) GroupID(displayName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groupByName(displayName); g != nil {
		return g.id
	}
	return ""
}

// Members returns the userNames of the users in the group with displayName,
// sorted (nested groups are left out), or nil when there is no such group.
func (s *Server) Members(displayName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupByName(displayName)
	if g == nil {
		return nil
	}
	names := []string{}
	for _, m := range g.members {
		if u, ok := s.users[m]; ok {
			names = append(names, u.UserName)
		}
	}
	slices.Sort(names)
	return names
}

// MemberIDs returns the SCIM ids of the members of the group with
// displayName, in the order they were added.
func (s *Server) MemberIDs(displayName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groupByName(displayName); g != nil {
		return slices.Clone(g.members)
	}
	return nil
}

func (s *Server) groupByName(displayName string) *groupRecord {
	for _, id := range s.order {
		if g, ok := s.groups[id]; ok && g.displayName == displayName {
			return g
		}
	}
	return nil
}

// scimError is the error the library turns into a SCIM error answer.
func scimError(status int, scimType scimerrors.ScimType, detail string) error {
	return scimerrors.ScimError{Status: status, ScimType: scimType, Detail: detail}
}

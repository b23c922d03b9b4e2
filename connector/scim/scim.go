// Package scim is the "scim" connector type: a client of a SCIM 2.0 service
// provider (RFC 7643, RFC 7644), such as an identity provider or a SaaS
// application's provisioning API. Its users are accounts and its groups are
// entitlements; a grant is a group membership. Grant and Revoke add or remove
// one member of a group with a PATCH request.
//
// # Settings
//
//	url           required. The service provider's base URL, under which /Users
//	              and /Groups live, e.g. https://idp.example.com/scim/v2. An
//	              http:// URL, which sends the token in clear text, is refused
//	              unless insecure is true. Redirects are followed only within
//	              the URL's origin (scheme, host and port); one to another
//	              origin fails, permanently, and sends that origin nothing.
//	insecure      allow an http:// url. Default false.
//	token_env     the name of an environment variable holding the bearer token,
//	              starting with ROSTER_SECRET_ (roster serve --secret-env-prefix),
//	token_file    or the path of a file holding it, under roster serve
//	              --secrets-dir (one of the two is required).
//	              The token is sent as "Authorization: Bearer TOKEN" and is read
//	              when the connector first talks to the provider, on every Sync,
//	              Grant and Revoke, so a rotated file is picked up.
//	page_size     how many resources to ask for per page (the count parameter).
//	              Default 100. Providers that return fewer than asked are
//	              paged through until totalResults is reached.
//	user_filter   a SCIM filter expression limiting the users listed, passed as
//	              the filter query parameter, e.g. `active eq true` or
//	              `userType eq "Employee"`. Default none: every user. Grant and
//	              Revoke only consider users it selects.
//	group_filter  a SCIM filter expression limiting the groups listed (and so
//	              the entitlements), e.g. `displayName sw "app-"`. Default none.
//	id_attribute  the user attribute that is the account's key, which users are
//	              matched by when the connector's match_by is id: userName or
//	              externalId. Default userName. Users without it are skipped
//	              (with a warning in the log).
//	timeout       the time limit of one HTTP request (Go duration). Default 30s.
//	              A whole Sync, Grant or Revoke is bounded by sync_timeout and
//	              provision_timeout (connector.CommonSettings).
//
// # What is read
//
// Sync lists /Users and /Groups page by page (startIndex and count). For each
// user: the account ID is id_attribute; the e-mail is the primary emails value,
// else the first; the name is displayName, else name.formatted; the title is
// title; the account is disabled when active is false; the department and the
// manager come from the enterprise extension
// (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User), whose
// manager.value, a SCIM id, is resolved to that user's account ID (left empty
// when the manager is not among the users listed). Each account's attributes
// hold scim_id (the provider's id for the user), and userName and externalId
// when present.
//
// Each group is an entitlement whose ID is its displayName made into a valid
// Roster id (connector.EntitlementID: "Sales Team" becomes "Sales-Team") and
// whose name is its displayName. Its members that are listed users are
// grants; other members (nested groups, users left out by user_filter) are
// ignored. Two users whose keys make the same Roster user id fail the Sync.
//
// # Grant and Revoke
//
// The user is found with a filtered query (userName eq "KEY" or externalId eq
// "KEY" when match_by is id, emails[value eq "EMAIL"] when it is email, and
// user_filter), checked on the client side (the key through
// connector.UserID, or the primary e-mail case-insensitively); when that finds
// nobody, or the provider rejects the filter, the users are listed in full.
// The group is found likewise by displayName. Then the group is patched with
// urn:ietf:params:scim:api:messages:2.0:PatchOp: add of members value, or
// remove of members[value eq "ID"]. Granting a membership that exists succeeds
// (RFC 7644 asks providers to accept it), and revoking one that does not
// succeeds (a provider's "noTarget" answer is taken as done), as does revoking
// for a person without an account. Granting to a person without an account
// fails with connector.ErrNoAccount.
//
// # Errors
//
// HTTP 4xx answers other than 429 are permanent (retrying cannot fix a bad
// token, a missing group or a rejected request) and carry the provider's SCIM
// error detail; 429, 5xx and network errors are not, so the engine retries
// them. An entitlement with no matching group, and a person matching two
// accounts, are permanent errors. The token never appears in an error or in
// the log.
//
// # Example
//
//	connectors:
//	  - id: okta
//	    type: scim
//	    app: okta
//	    match_by: email
//	    entitlement_defaults: {request_policy: manager, revoke_policy: auto, provisioning: connector}
//	    settings:
//	      url: https://idp.example.com/scim/v2
//	      token_env: ROSTER_SECRET_OKTA_SCIM_TOKEN
//	      user_filter: active eq true
//	      page_size: 200
package scim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/connector"
)

const (
	enterpriseUserSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchOpSchema        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

	defaultPageSize = 100
	defaultTimeout  = 30 * time.Second

	// The values id_attribute accepts.
	idUserName   = "userName"
	idExternalID = "externalId"
)

var spec = connector.Spec{
	Required: []string{"url"},
	Optional: []string{"page_size", "user_filter", "group_filter", "id_attribute", "timeout", "insecure"},
	Secrets:  []string{"token"},
}

func init() {
	connector.Register("scim", Open)
}

// Connector is one configured connection to a SCIM service provider. It is
// safe for concurrent use.
type Connector struct {
	settings    connector.Settings
	access      connector.Access
	base        string // the url setting without a trailing slash
	pageSize    int
	userFilter  string
	groupFilter string
	idAttribute string
	client      *http.Client
	log         *slog.Logger

	// What the last listing saw, used as hints by Grant and Revoke so that a
	// key or group name that Roster's ids changed can still be looked up
	// with a filter rather than a full listing. Hints are always checked.
	mu         sync.Mutex
	userKeys   map[string]string // connector.UserID(key) -> key
	groupNames map[string]string // entitlement id -> displayName
}

// Open validates cfg's settings and returns the connector. It neither
// contacts the provider nor reads the token.
func Open(cfg connector.Config) (connector.Connector, error) {
	s := cfg.Settings
	if err := s.Check(spec); err != nil {
		return nil, err
	}
	raw := strings.TrimSpace(s.String("url", ""))
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("settings.url: %q is not an http:// or https:// URL", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("settings.url: must not contain credentials: give the token as token_env or token_file")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("settings.url: must not have a query or fragment")
	}
	insecure, err := s.Bool("insecure", false)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "http" && !insecure {
		return nil, fmt.Errorf("settings.url: http:// sends the token in clear text: use https://, or set insecure: true")
	}
	pageSize, err := s.Int("page_size", defaultPageSize)
	if err != nil {
		return nil, err
	}
	if pageSize < 1 {
		return nil, fmt.Errorf("settings.page_size: must be at least 1, not %d", pageSize)
	}
	timeout, err := s.Duration("timeout", defaultTimeout)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("settings.timeout: must be positive")
	}
	idAttr := s.String("id_attribute", idUserName)
	switch {
	case strings.EqualFold(idAttr, idUserName):
		idAttr = idUserName
	case strings.EqualFold(idAttr, idExternalID):
		idAttr = idExternalID
	default:
		return nil, fmt.Errorf("settings.id_attribute: %q is not %s or %s", idAttr, idUserName, idExternalID)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Connector{
		settings:    s,
		access:      cfg.Access,
		base:        strings.TrimRight(u.String(), "/"),
		pageSize:    pageSize,
		userFilter:  strings.TrimSpace(s.String("user_filter", "")),
		groupFilter: strings.TrimSpace(s.String("group_filter", "")),
		idAttribute: idAttr,
		client:      &http.Client{Timeout: timeout, CheckRedirect: sameOrigin},
		log:         logger.With("connector", cfg.ID, "type", "scim"),
		userKeys:    map[string]string{},
		groupNames:  map[string]string{},
	}, nil
}

// sameOrigin is the client's redirect policy: the bearer token goes only to
// the provider's own origin (scheme, host and port), so a redirect elsewhere
// is refused, permanently, and the other origin is sent nothing.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return connector.Permanent(errors.New("stopped after 10 redirects"))
	}
	from := via[0].URL
	if !strings.EqualFold(req.URL.Scheme, from.Scheme) || !strings.EqualFold(req.URL.Host, from.Host) {
		return connector.Permanent(fmt.Errorf("refused a redirect to another origin (%s://%s): the token is sent only to settings.url's", req.URL.Scheme, req.URL.Host))
	}
	return nil
}

// Close releases idle connections.
func (c *Connector) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

// token reads the bearer token. A missing token is a configuration error,
// so it is permanent.
func (c *Connector) token() (string, error) {
	t, err := c.access.Secret(c.settings, "token")
	if err != nil {
		return "", connector.Permanent(fmt.Errorf("scim: %w", err))
	}
	return t, nil
}

// key is the account key of u per id_attribute.
func (c *Connector) key(u *user) string {
	if c.idAttribute == idExternalID {
		return u.ExternalID
	}
	return u.UserName
}

// remember records the keys and group names a listing saw, as lookup hints.
func (c *Connector) remember(users []user, groups []group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range users {
		if k := c.key(&users[i]); k != "" {
			c.userKeys[connector.UserID(k)] = k
		}
	}
	for _, g := range groups {
		if g.DisplayName != "" {
			c.groupNames[connector.EntitlementID(g.DisplayName)] = g.DisplayName
		}
	}
}

func (c *Connector) hintKey(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userKeys[id]
}

func (c *Connector) hintGroup(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groupNames[id]
}

package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/connector"
)

// user is the part of a SCIM User resource the connector reads.
type user struct {
	ID          string   `json:"id"`
	UserName    string   `json:"userName"`
	ExternalID  string   `json:"externalId"`
	DisplayName string   `json:"displayName"`
	Title       string   `json:"title"`
	UserType    string   `json:"userType"`
	Active      flexBool `json:"active"`
	Name        struct {
		Formatted string `json:"formatted"`
	} `json:"name"`
	Emails []struct {
		Value   string   `json:"value"`
		Primary flexBool `json:"primary"`
	} `json:"emails"`
	Addresses []struct {
		Locality string   `json:"locality"`
		Primary  flexBool `json:"primary"`
	} `json:"addresses"`
	Enterprise *struct {
		Department string     `json:"department"`
		Manager    managerRef `json:"manager"`
	} `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
}

// locality is the locality of u's primary address, else of its first.
func (u *user) locality() string {
	for _, a := range u.Addresses {
		if a.Primary.val {
			return a.Locality
		}
	}
	if len(u.Addresses) > 0 {
		return u.Addresses[0].Locality
	}
	return ""
}

// email is u's primary e-mail address, else its first.
func (u *user) email() string {
	for _, e := range u.Emails {
		if e.Primary.set && e.Primary.val {
			return e.Value
		}
	}
	if len(u.Emails) > 0 {
		return u.Emails[0].Value
	}
	return ""
}

// group is the part of a SCIM Group resource the connector reads.
type group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Members     []struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	} `json:"members"`
}

// flexBool is a boolean that some providers send as a string ("True").
type flexBool struct{ set, val bool }

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*b = flexBool{}
	case bool:
		*b = flexBool{set: true, val: v}
	case string:
		x, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a boolean", v)
		}
		*b = flexBool{set: true, val: x}
	default:
		return fmt.Errorf("%s is not a boolean", data)
	}
	return nil
}

// managerRef is the enterprise extension's manager: an object whose value
// is the manager's SCIM id, or (from some providers) the id as a string.
type managerRef struct{ Value string }

func (m *managerRef) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		m.Value = s
		return nil
	}
	var o struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return err
	}
	m.Value = o.Value
	return nil
}

// listResponse is a page of a SCIM ListResponse.
type listResponse[T any] struct {
	TotalResults int `json:"totalResults"`
	Resources    []T `json:"Resources"`
}

// StatusError is an HTTP error answer from the service provider, with the
// SCIM error's scimType and detail when the body carried them.
type StatusError struct {
	Method   string
	Path     string // the request path below the base URL, e.g. /Groups/42
	Status   int
	ScimType string
	Detail   string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("scim: %s %s: HTTP %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.ScimType != "" {
		msg += " (" + e.ScimType + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Temporary reports whether retrying may help: 429 and 5xx.
func (e *StatusError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// statusOf returns the HTTP status of a StatusError in err's chain, or 0.
func statusOf(err error) (int, string) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status, se.ScimType
	}
	return 0, ""
}

// do sends one request to the provider and decodes a 2xx answer's body into
// out (when out is not nil). Non-2xx answers give a *StatusError, wrapped with
// connector.Permanent unless retrying may help.
func (c *Connector) do(ctx context.Context, token, method, path string, query url.Values, body, out any) error {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("scim: %s %s: %w", method, path, err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return connector.Permanent(fmt.Errorf("scim: %s %s: %w", method, path, err))
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.client.Do(req)
	if err != nil {
		// The url.Error repeats the method and URL; keep the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("scim: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	c.log.Debug("scim request", "method", method, "path", path, "status", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{Method: method, Path: path, Status: resp.StatusCode}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var body struct {
			ScimType string `json:"scimType"`
			Detail   string `json:"detail"`
		}
		if json.Unmarshal(raw, &body) == nil {
			se.ScimType, se.Detail = body.ScimType, body.Detail
		} else {
			se.Detail = strings.TrimSpace(string(raw))
		}
		se.Detail = redact(truncate(se.Detail, 500), token)
		se.ScimType = redact(truncate(se.ScimType, 100), token)
		if se.Temporary() {
			return se
		}
		return connector.Permanent(se)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("scim: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// list fetches every resource of endpoint that filter selects, page by page,
// until totalResults is reached. Providers may return fewer resources than
// asked for; the next page starts after the last one received.
func list[T any](ctx context.Context, c *Connector, token, endpoint, filter string, extra url.Values, id func(*T) string) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	for start := 1; ; {
		q := url.Values{}
		for k, v := range extra {
			q[k] = v
		}
		q.Set("startIndex", strconv.Itoa(start))
		q.Set("count", strconv.Itoa(c.pageSize))
		if filter != "" {
			q.Set("filter", filter)
		}
		var page listResponse[T]
		if err := c.do(ctx, token, http.MethodGet, endpoint, q, nil, &page); err != nil {
			return nil, err
		}
		fresh := 0
		for i := range page.Resources {
			r := &page.Resources[i]
			k := id(r)
			if k == "" {
				return nil, fmt.Errorf("scim: GET %s: a resource without an id at startIndex %d", endpoint, start+i)
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			fresh++
			all = append(all, *r)
		}
		if len(page.Resources) == 0 || len(all) >= page.TotalResults {
			return all, nil
		}
		if fresh == 0 {
			return nil, fmt.Errorf("scim: GET %s: startIndex %d returned only resources already seen: the provider does not seem to honour startIndex", endpoint, start)
		}
		start += len(page.Resources)
	}
}

// quote makes s a SCIM filter string literal (RFC 7644 section 3.4.2.2: a
// JSON string).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// and combines a configured filter with a lookup's.
func and(configured, lookup string) string {
	if configured == "" {
		return lookup
	}
	return "(" + configured + ") and " + lookup
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

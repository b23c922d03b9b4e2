package http

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

	"github.com/rosterhq/roster"
)

// Client calls a Roster server. It implements roster.Service, so the CLI asks
// the server exactly what the engine answers; every call acts as the user the
// token belongs to, whatever user the context names.
type Client struct {
	// HTTPClient sends the requests; nil uses http.DefaultClient.
	HTTPClient *http.Client

	baseURL string
	token   string
}

var _ roster.Service = (*Client)(nil)

// NewClient returns a client of the server at baseURL (such as
// "http://127.0.0.1:8080") that authenticates with token.
func NewClient(baseURL, token string) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), token: token}
}

// do sends one request and decodes a successful JSON answer into out, unless
// out is nil. body, when not nil, is sent as JSON, or as it is when it is a
// rawBody.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	contentType := "application/json"
	if raw, ok := body.(rawBody); ok {
		rd, contentType = bytes.NewReader(raw.data), raw.contentType
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request to %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("building request to %s: %w", u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s %s: %w", method, path, ctxErr)
		}
		return fmt.Errorf("could not reach the Roster server at %s: %w", c.baseURL, unwrapURLError(err))
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return roster.Errorf(roster.EINTERNAL, "unreadable answer from %s %s (%s): %v", method, u, resp.Status, err)
	}
	return nil
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// call sends one request and returns its decoded JSON answer.
func call[T any](ctx context.Context, c *Client, method, path string, q url.Values, body any) (*T, error) {
	var out T
	if err := c.do(ctx, method, path, q, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// list sends one request whose answer is a JSON array.
func list[T any](ctx context.Context, c *Client, method, path string, q url.Values, body any) ([]T, error) {
	out, err := call[[]T](ctx, c, method, path, q, body)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// params builds query parameters, leaving out empty values.
type params url.Values

func (p params) str(name, v string) params {
	if v != "" {
		url.Values(p).Set(name, v)
	}
	return p
}

func (p params) int(name string, v int) params {
	if v != 0 {
		url.Values(p).Set(name, strconv.Itoa(v))
	}
	return p
}

func (p params) bool(name string, v bool) params {
	if v {
		url.Values(p).Set(name, "true")
	}
	return p
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }

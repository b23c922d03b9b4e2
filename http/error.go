package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
)

// codes maps each error code to the HTTP status it is answered with. It is the
// only place that knows the mapping; errorCode reverses it for the client.
var codes = map[string]int{
	roster.EINVALID:      http.StatusUnprocessableEntity,
	roster.ENOTFOUND:     http.StatusNotFound,
	roster.ECONFLICT:     http.StatusConflict,
	roster.EFORBIDDEN:    http.StatusForbidden,
	roster.EUNAUTHORIZED: http.StatusUnauthorized,
	roster.EINTERNAL:     http.StatusInternalServerError,
	roster.EUNAVAILABLE:  http.StatusBadGateway,
	roster.ETOOMANY:      http.StatusTooManyRequests,
}

// ErrorStatusCode returns the HTTP status for an error code; unknown codes are
// internal errors.
func ErrorStatusCode(code string) int {
	if status, ok := codes[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// errorResponse is the body of every error answer:
// {"error":{"code":"…","message":"…","details":[…]}}.
type errorResponse struct {
	Error *roster.Error `json:"error"`
}

// writeError answers err with the status of its code. An internal error is
// logged with its real text and answered with "internal error" only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := roster.ErrorCode(err)
	if code == roster.EINTERNAL {
		s.logger.ErrorContext(r.Context(), "internal error",
			"method", r.Method, "path", r.URL.Path, "error", err)
	}
	if code == roster.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	}
	writeJSON(w, ErrorStatusCode(code), errorResponse{Error: &roster.Error{
		Code:    code,
		Message: roster.ErrorMessage(err),
		Details: roster.ErrorDetails(err),
	}})
}

// bodyError turns a failure to decode a JSON request body into an EINVALID
// error that names the problem.
func bodyError(err error) error {
	var (
		syntaxErr  *json.SyntaxError
		typeErr    *json.UnmarshalTypeError
		maxErr     *http.MaxBytesError
		invalidErr *json.InvalidUnmarshalError
	)
	switch {
	case errors.Is(err, io.EOF):
		return roster.Errorf(roster.EINVALID, "request body is empty: a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return roster.Errorf(roster.EINVALID, "malformed JSON in request body: it ends in the middle of a value")
	case errors.As(err, &syntaxErr):
		return roster.Errorf(roster.EINVALID, "malformed JSON in request body at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return roster.Errorf(roster.EINVALID, "request body must be %s, not a JSON %s", typeName(typeErr.Type.String()), typeErr.Value)
		}
		return roster.Errorf(roster.EINVALID, "request body field %q must be %s, not a JSON %s", typeErr.Field, typeName(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &maxErr):
		return roster.Errorf(roster.EINVALID, "request body is larger than the limit of %d bytes", maxErr.Limit)
	case errors.As(err, &invalidErr):
		return fmt.Errorf("decoding request body: %w", err) // a bug, not the caller's mistake
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return roster.Errorf(roster.EINVALID, "request body has unknown field %s", field)
	}
	return roster.Errorf(roster.EINVALID, "invalid request body: %v", err)
}

// typeName describes a Go type the way a JSON caller thinks of it.
func typeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]uint8"):
		return "a base64 string"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "an object"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	}
	return "a number"
}

// decodeError reads a non-2xx response into an error. A JSON error body
// becomes the *roster.Error the server sent; anything else becomes an
// EINTERNAL error that names the status.
func decodeError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var er errorResponse
	if err := json.Unmarshal(body, &er); err == nil && er.Error != nil && er.Error.Code != "" {
		return er.Error
	}
	e := roster.Errorf(roster.EINTERNAL, "unexpected response from %s %s: %s", resp.Request.Method, resp.Request.URL.Redacted(), resp.Status)
	if text := strings.TrimSpace(string(body)); text != "" {
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		e.Details = []string{text}
	}
	return e
}

// Package csv is the "csv" connector type: an HR feed, the source of truth
// for joiners, movers and leavers. It reads a CSV file of people, one row per
// person, and reports them as accounts. The file is read again, whole, on
// every Sync; the connector never writes to it and cannot provision: Grant and
// Revoke fail with a permanent error.
//
// # Settings
//
//	path                 required. The CSV file's path (a plain setting, not a secret),
//	                     which must lie under the server's data directory (roster
//	                     serve --data-dir; without it no csv connector is accepted).
//	                     A relative path is taken relative to that directory. Only a
//	                     regular file of at most 256 MiB is read, once symbolic links
//	                     are resolved, and only if it is still under the directory.
//	columns              map from a Roster field to the file's header name. Fields and
//	                     their defaults: id: id, email: email, name: name,
//	                     manager: manager (the manager's id), department: department,
//	                     title: title, status: status, start_date: start_date,
//	                     end_date: end_date. A field whose column is missing from the
//	                     header is left empty, unless the map names it explicitly:
//	                     then the missing column is an error. The id column is
//	                     always required.
//	terminated_statuses  list of statuses meaning the person has left, compared
//	                     case-insensitively. Default [terminated, inactive, leaver, disabled];
//	                     an empty list means the status never disables anyone.
//	date_format          Go time layout of start_date and end_date, which may be
//	                     empty (no date). Default 2006-01-02.
//	timezone             IANA zone in which dates are read and "today" is taken.
//	                     Default UTC.
//	delimiter            the field separator, one character. For tab-separated files
//	                     give a tab ("\t" in YAML double quotes) or the two
//	                     characters \t. Default ",".
//	attributes           list of header names whose values are copied into the
//	                     account's attributes, keyed by the name as listed.
//	                     Default none.
//
// Like every connector it also takes sync_timeout (default 2m), the time
// limit of one Sync (connector.CommonSettings).
//
// Header names are matched case-insensitively; values and header names are
// trimmed of surrounding spaces, and a UTF-8 byte order mark is accepted.
// Fields may be quoted as RFC 4180 describes (a quote inside a quoted field
// is doubled; a quote in an unquoted field is an error).
//
// # Disabled people
//
// A person is reported disabled when their status is one of
// terminated_statuses, when their end_date is before today (the end date
// itself is still a working day), or when their start_date is after today.
// So a joiner who has not started yet is listed, and their user created, but
// disabled until their first day; a leaver stays active up to and including
// their last day. Today is the connector's clock in timezone.
//
// # Validation
//
// The file is validated strictly and any problem fails the whole Sync; a
// partial list is never returned, since everyone missing from it would be
// disabled. Errors name the file, the line and the column: a row without an
// id, a duplicate id (ids that become the same Roster user id, such as
// "Alice" and "alice", count as duplicates), a malformed date, a row with more
// or fewer fields than the header, a quoting error, an empty file, a file with
// a header but no people, a header without the id column or without a column
// the settings name explicitly. Errors never quote the file's text (a value,
// the header): they reach the API, the audit log and the server's log.
//
// # Example
//
//	connectors:
//	  - id: hr
//	    type: csv
//	    app: hr
//	    users: true
//	    match_by: id
//	    sync_interval: 1h
//	    settings:
//	      path: hr/people.csv # under --data-dir
//	      columns: {id: employee_id, email: work_email, manager: manager_id}
//	      timezone: Europe/Paris
//	      attributes: [cost_center, location]
package csv

import (
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
)

func init() {
	connector.Register("csv", Open)
}

// The Roster fields a column can feed, in the order of fields.
const (
	fieldID = iota
	fieldEmail
	fieldName
	fieldManager
	fieldDepartment
	fieldTitle
	fieldStatus
	fieldStartDate
	fieldEndDate
	fieldLocation
	fieldEmploymentType
	numFields
)

// fields are the keys of the columns setting, which are also the default
// header names.
var fields = [numFields]string{"id", "email", "name", "manager", "department", "title", "status", "start_date", "end_date",
	"location", "employment_type"}

var defaultTerminated = []string{"terminated", "inactive", "leaver", "disabled"}

var spec = connector.Spec{
	Required: []string{"path"},
	Optional: []string{"columns", "terminated_statuses", "date_format", "timezone", "delimiter", "attributes"},
}

// feed is an opened csv connector.
type feed struct {
	path       string // as the settings give it, relative to the data directory or not
	access     connector.Access
	columns    [numFields]string // header name of each field
	explicit   [numFields]bool   // named in settings.columns
	terminated map[string]bool   // lower-cased statuses
	layout     string
	loc        *time.Location
	comma      rune
	attributes []string
	now        func() time.Time
	logger     *slog.Logger
}

// Open validates the settings of a csv connector. It does not read the file.
func Open(cfg connector.Config) (connector.Connector, error) {
	s := cfg.Settings
	if err := s.Check(spec); err != nil {
		return nil, err
	}
	f := &feed{
		path:   strings.TrimSpace(s.String("path", "")),
		access: cfg.Access,
		layout: s.String("date_format", "2006-01-02"),
		now:    cfg.Now,
		logger: cfg.Logger,
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.logger == nil {
		f.logger = slog.New(slog.DiscardHandler)
	}
	if f.path == "" {
		return nil, errors.New("settings.path: want the CSV file's path")
	}
	if err := f.access.CheckDataFile("path", f.path); err != nil {
		return nil, err
	}
	if f.layout == "" {
		return nil, errors.New("settings.date_format: want a Go time layout such as 2006-01-02")
	}

	f.columns = fields
	columns, err := s.StringMap("columns")
	if err != nil {
		return nil, err
	}
	for key, name := range columns {
		i := slices.Index(fields[:], key)
		if i < 0 {
			return nil, fmt.Errorf("settings.columns.%s: unknown field (known: %s)", key, strings.Join(fields[:], ", "))
		}
		if name = strings.TrimSpace(name); name == "" {
			return nil, fmt.Errorf("settings.columns.%s: want a header name", key)
		}
		f.columns[i], f.explicit[i] = name, true
	}

	statuses, err := s.Strings("terminated_statuses")
	if err != nil {
		return nil, err
	}
	if statuses == nil {
		statuses = defaultTerminated
	}
	f.terminated = make(map[string]bool, len(statuses))
	for i, st := range statuses {
		st = strings.ToLower(strings.TrimSpace(st))
		if st == "" {
			return nil, fmt.Errorf("settings.terminated_statuses[%d]: want a status", i)
		}
		f.terminated[st] = true
	}

	tz := s.String("timezone", "UTC")
	if f.loc, err = time.LoadLocation(tz); err != nil {
		return nil, fmt.Errorf("settings.timezone: %q is not a known time zone such as UTC or Europe/Paris", tz)
	}

	delim := s.String("delimiter", ",")
	if delim == `\t` {
		delim = "\t"
	}
	f.comma, _ = utf8.DecodeRuneInString(delim)
	if utf8.RuneCountInString(delim) != 1 || !validDelimiter(f.comma) {
		return nil, fmt.Errorf("settings.delimiter: %q is not a single character usable as a field separator", delim)
	}

	if f.attributes, err = s.Strings("attributes"); err != nil {
		return nil, err
	}
	for i, a := range f.attributes {
		if f.attributes[i] = strings.TrimSpace(a); f.attributes[i] == "" {
			return nil, fmt.Errorf("settings.attributes[%d]: want a header name", i)
		}
	}
	return f, nil
}

// validDelimiter mirrors encoding/csv's rule for Reader.Comma.
func validDelimiter(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// Sync reads the whole file and returns its people as accounts. It returns
// no entitlements and no grants.
func (f *feed) Sync(ctx context.Context) (*connector.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := f.access.ReadDataFile("path", f.path, connector.MaxDataFileSize)
	if err != nil {
		return nil, fmt.Errorf("HR feed: %w", err)
	}
	accounts, err := f.parse(data, civilDay(f.now().In(f.loc)))
	if err != nil {
		return nil, err
	}
	f.logger.Debug("HR feed read", "path", f.path, "accounts", len(accounts))
	return &connector.Snapshot{Accounts: accounts}, nil
}

// Grant fails: an HR feed cannot provision.
func (f *feed) Grant(_ context.Context, who connector.Subject, entitlement string) error {
	return connector.Permanent(fmt.Errorf("HR feed %s cannot provision (grant %s to %s): %w", f.path, entitlement, who.Key(), errors.ErrUnsupported))
}

// Revoke fails: an HR feed cannot provision.
func (f *feed) Revoke(_ context.Context, who connector.Subject, entitlement string) error {
	return connector.Permanent(fmt.Errorf("HR feed %s cannot provision (revoke %s from %s): %w", f.path, entitlement, who.Key(), errors.ErrUnsupported))
}

// Close does nothing: the file is not kept open between syncs.
func (f *feed) Close() error { return nil }

// sheet is one reading of the file: the reader, and where each column is.
type sheet struct {
	*feed
	r          *stdcsv.Reader
	header     []string
	headerLine int
	index      [numFields]int // position of each field's column, or -1
	attrs      []int          // position of each attribute's column
}

var bom = []byte("\ufeff")

// parse turns the file's content into accounts, judging dates against today
// (see civilDay). Any problem fails it as a whole.
func (f *feed) parse(data []byte, today int) ([]connector.Account, error) {
	r := stdcsv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, bom)))
	r.Comma = f.comma
	r.FieldsPerRecord = -1 // counted here, for a clearer error
	r.ReuseRecord = true
	// Allow a space before a quoted field; not when the delimiter is itself
	// white space, where it would swallow empty fields.
	r.TrimLeadingSpace = !unicode.IsSpace(f.comma)
	s := &sheet{feed: f, r: r}

	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: want a header row naming the id column %q", f.path, f.columns[fieldID])
	}
	if err != nil {
		return nil, s.readError(err)
	}
	s.headerLine, _ = r.FieldPos(0)
	s.header = make([]string, len(header))
	for i, h := range header {
		s.header[i] = strings.TrimSpace(h)
	}
	if err := s.locate(); err != nil {
		return nil, err
	}

	rows := bytes.Count(data, []byte{'\n'}) // at least the rows, as a capacity hint
	accounts := make([]connector.Account, 0, rows)
	seen := make(map[string]int, rows) // Roster user id → line
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, s.readError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(s.header) {
			return nil, fmt.Errorf("%s:%d: the header has %d fields but this row has %d", f.path, line, len(s.header), len(rec))
		}
		a, err := s.account(rec, today)
		if err != nil {
			return nil, err
		}
		key := connector.UserID(a.ID)
		if first, dup := seen[key]; dup {
			return nil, s.fieldError(fieldID, "duplicate id (the same person as on line %d)", first)
		}
		seen[key] = line
		accounts = append(accounts, a)
	}
	if len(accounts) == 0 {
		return nil, fmt.Errorf("%s: no people after the header row", f.path)
	}
	return accounts, nil
}

// locate finds each field's and attribute's column in the header.
func (s *sheet) locate() error {
	find := func(name string) (int, error) {
		i := slices.IndexFunc(s.header, func(h string) bool { return strings.EqualFold(h, name) })
		if i >= 0 && slices.IndexFunc(s.header[i+1:], func(h string) bool { return strings.EqualFold(h, name) }) >= 0 {
			return -1, fmt.Errorf("%s:%d: the header has two %q columns", s.path, s.headerLine, name)
		}
		return i, nil
	}
	for fi, name := range s.columns {
		i, err := find(name)
		if err != nil {
			return err
		}
		switch {
		case i < 0 && fi == fieldID:
			return fmt.Errorf("%s:%d: the header has no id column %q", s.path, s.headerLine, name)
		case i < 0 && s.explicit[fi]:
			return fmt.Errorf("%s:%d: the header has no %q column (settings.columns.%s)", s.path, s.headerLine, name, fields[fi])
		}
		s.index[fi] = i
	}
	for _, name := range s.attributes {
		i, err := find(name)
		if err != nil {
			return err
		}
		if i < 0 {
			return fmt.Errorf("%s:%d: the header has no %q column (settings.attributes)", s.path, s.headerLine, name)
		}
		s.attrs = append(s.attrs, i)
	}
	return nil
}

// account reads one row.
func (s *sheet) account(rec []string, today int) (connector.Account, error) {
	get := func(fi int) string {
		if s.index[fi] < 0 {
			return ""
		}
		return strings.TrimSpace(rec[s.index[fi]])
	}
	a := connector.Account{
		ID:             get(fieldID),
		Email:          get(fieldEmail),
		Name:           get(fieldName),
		Manager:        get(fieldManager),
		Department:     get(fieldDepartment),
		Title:          get(fieldTitle),
		Location:       get(fieldLocation),
		EmploymentType: get(fieldEmploymentType),
	}
	if a.ID == "" {
		return a, s.fieldError(fieldID, "no id")
	}
	start, err := s.date(fieldStartDate, get(fieldStartDate), &a.StartDate)
	if err != nil {
		return a, err
	}
	end, err := s.date(fieldEndDate, get(fieldEndDate), &a.EndDate)
	if err != nil {
		return a, err
	}
	a.Disabled = s.terminated[strings.ToLower(get(fieldStatus))] ||
		end != 0 && end < today ||
		start != 0 && start > today
	if len(s.attrs) > 0 {
		a.Attributes = make(map[string]string, len(s.attrs))
		for i, col := range s.attrs {
			a.Attributes[s.attributes[i]] = strings.TrimSpace(rec[col])
		}
	}
	return a, nil
}

// date parses a date column's value as a civil day, 0 when empty, and sets
// *civil to it in roster.DateLayout.
func (s *sheet) date(fi int, v string, civil *string) (int, error) {
	if v == "" {
		return 0, nil
	}
	t, err := time.ParseInLocation(s.layout, v, s.loc)
	if err != nil {
		return 0, s.fieldError(fi, "not a date in the format %s", s.layout)
	}
	*civil = t.In(s.loc).Format(roster.DateLayout)
	return civilDay(t.In(s.loc)), nil
}

// fieldError reports a problem with field fi of the row just read, naming
// the file, line and column (by the header name the settings give, which
// the header matched), never the value.
func (s *sheet) fieldError(fi int, format string, args ...any) error {
	line, _ := s.r.FieldPos(s.index[fi])
	name := s.columns[fi]
	if !strings.EqualFold(name, fields[fi]) {
		name = fmt.Sprintf("%q (%s)", name, fields[fi])
	}
	return fmt.Errorf("%s:%d: column %s: %s", s.path, line, name, fmt.Sprintf(format, args...))
}

// readError turns a CSV syntax error into one naming the file.
func (s *sheet) readError(err error) error {
	var pe *stdcsv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %w", s.path, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", s.path, err)
}

// civilDay is t's calendar date as yyyymmdd, so days compare as integers.
func civilDay(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

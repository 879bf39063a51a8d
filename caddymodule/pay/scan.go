package pay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// verdict is what scanning a body found.
type verdict uint8

const (
	signable     verdict = iota // a prepay id to sign; insertAt says where
	noField                     // an object without the prepay field
	notObject                   // valid JSON, but an array or a scalar
	empty                       // nothing but whitespace
	malformed                   // not exactly one JSON value
	outputExists                // the output field is already there
	duplicateKey                // the prepay field appears more than once
	notString                   // the prepay field is not a string
	badPrepayID                 // the string is not a prepay id (validPrepayID)
)

// scanned is the result of scan.
type scanned struct {
	verdict  verdict
	pkg      string // the package value: "prepay_id=" + the id
	insertAt int    // the byte after the object's last member
	err      error  // why the body is malformed
}

// packagePrefix is how the prepay id is written into package.
const packagePrefix = "prepay_id="

// maxPrepayID bounds the prepay id: WeChat's are 36 characters, documented
// as at most 64.
const maxPrepayID = 64

var errTrailingData = errors.New("data after the top-level value")

// scan validates body as exactly one JSON value by streaming through it with
// encoding/json's Decoder, and looks for prepayField among the members of a
// top-level object. It never re-marshals anything: the caller splices the
// new member into the original bytes at insertAt, right after the last
// member's value, so what follows (whitespace, the closing brace) stays as
// it was.
//
// Keys are compared after JSON unescaping, as any JSON parser would see
// them. A duplicated prepay field is ambiguous (parsers keep the first or
// the last) and is not signed.
func scan(body []byte, prepayField, outputField string) scanned {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err == io.EOF {
		return scanned{verdict: empty}
	}
	if err != nil {
		return scanned{verdict: malformed, err: err}
	}
	if tok != json.Delim('{') {
		if err := skipRest(dec, tok); err != nil {
			return scanned{verdict: malformed, err: err}
		}
		return scanned{verdict: notObject}
	}
	var (
		found, dup, exists bool
		raw                json.RawMessage
		skip               skipValue
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return scanned{verdict: malformed, err: err}
		}
		key, _ := tok.(string) // inside an object, Token yields keys as strings
		switch key {
		case prepayField:
			dup = dup || found
			found = true
			raw = raw[:0]
			err = dec.Decode(&raw)
		case outputField:
			exists = true
			err = dec.Decode(&skip)
		default:
			err = dec.Decode(&skip)
		}
		if err != nil {
			return scanned{verdict: malformed, err: err}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return scanned{verdict: malformed, err: err}
	}
	end := int(dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errTrailingData
		}
		return scanned{verdict: malformed, err: err}
	}
	switch {
	case !found:
		return scanned{verdict: noField}
	case exists:
		return scanned{verdict: outputExists}
	case dup:
		return scanned{verdict: duplicateKey}
	case len(raw) == 0 || raw[0] != '"':
		return scanned{verdict: notString}
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return scanned{verdict: malformed, err: err} // cannot happen: Decode checked it
	}
	pkg := id
	if !strings.HasPrefix(pkg, packagePrefix) {
		pkg = packagePrefix + id
	}
	if !validPrepayID(pkg[len(packagePrefix):]) {
		return scanned{verdict: badPrepayID}
	}
	// The object has a member, so body[end-1] is its '}' and the last
	// non-space byte before it ends the last member's value.
	at := end - 1
	for at > 0 && isJSONSpace(body[at-1]) {
		at--
	}
	return scanned{verdict: signable, pkg: pkg, insertAt: at}
}

// skipRest reads what is left of a top-level value that started with tok,
// then checks that nothing follows it.
func skipRest(dec *json.Decoder, tok json.Token) error {
	if d, ok := tok.(json.Delim); ok && d == '[' {
		var skip skipValue
		for dec.More() {
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errTrailingData
		}
		return err
	}
	return nil
}

// skipValue makes Decode check a value's syntax without building anything.
type skipValue struct{}

// UnmarshalJSON implements json.Unmarshaler.
func (skipValue) UnmarshalJSON([]byte) error { return nil }

// validPrepayID accepts what a prepay id can be: 1 to maxPrepayID of
// A-Z a-z 0-9 _ -, the alphabet of WeChat's own (wx2014102720093955…).
// The id becomes the package "prepay_id=<id>", which is signed, handed to
// the page and read by WeChat's client as a query-string parameter, so an
// id carrying &, =, %, + or a space ("wx1&signType=MD5&key=x") would sign
// a package that says something else than one prepay id; a quote, a
// backslash or an angle bracket has no place in it either. Anything
// outside the alphabet is not a WeChat prepay id: the response passes
// through unsigned (and the handler logs it once), since signing it would
// at best hand the page a parameter WeChat refuses.
func validPrepayID(id string) bool {
	if id == "" || len(id) > maxPrepayID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// Package fieldset reads a check spec's tagged fields. One walk over the
// struct serves the strict YAML decoder of the config, the flags of
// `mamori check TYPE`, and the generated config reference.
package fieldset

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/duration"
)

// Field is one configurable field of a spec.
type Field struct {
	Key      string // yaml key
	Help     string
	Required bool
	Type     string // human name of the type, for docs and errors
	flag     string // `flag:"..."` override of the flag name
	v        reflect.Value
}

// Flag is the command-line flag name of the field: the yaml key with
// dashes, unless a `flag:"..."` tag names it (e.g. dns's lookup is --name,
// since "name" is every check entry's own name in the config).
func (f Field) Flag() string {
	if f.flag != "" {
		return f.flag
	}
	return strings.ReplaceAll(f.Key, "_", "-")
}

// Default renders the field's current value (the type's default before decoding).
func (f Field) Default() string {
	v := f.v
	switch x := v.Interface().(type) {
	case time.Duration:
		if x == 0 {
			return ""
		}
		return x.String()
	case check.Secret:
		return x.String()
	case check.Range:
		return x.Text
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		if v.Bool() {
			return "true"
		}
		return ""
	case reflect.Int, reflect.Int64:
		if v.Int() == 0 {
			return ""
		}
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		if v.Float() == 0 {
			return ""
		}
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice:
		if v.Len() == 0 {
			return ""
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(parts, ",")
	case reflect.Map:
		if v.Len() == 0 {
			return ""
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String()+"="+v.MapIndex(k).String())
		}
		sort.Strings(keys)
		return strings.Join(keys, ",")
	}
	return ""
}

// IsZero reports whether the field holds its zero value.
func (f Field) IsZero() bool { return f.v.IsZero() }

// IsBool reports whether the field is a boolean (a flag without value).
func (f Field) IsBool() bool { return f.v.Kind() == reflect.Bool }

var (
	durationT = reflect.TypeOf(time.Duration(0))
	secretT   = reflect.TypeOf(check.Secret{})
	rangeT    = reflect.TypeOf(check.Range{})
)

// Of lists the fields of spec (a pointer to a struct) in declaration order,
// following embedded structs. It panics on an unsupported field type: that
// is a programming error every test of the check package finds.
func Of(spec any) []Field {
	rv := reflect.ValueOf(spec)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("fieldset: spec must be a pointer to a struct, got %T", spec))
	}
	sv := rv.Elem()
	fs := layoutOf(sv.Type())
	out := make([]Field, len(fs))
	for i, f := range fs {
		out[i] = f.Field
		out[i].v = sv.FieldByIndex(f.index)
	}
	return out
}

// A field's place in its struct, with what its tags say.
type placed struct {
	Field
	index []int
}

var layouts sync.Map // reflect.Type → []placed

// layoutOf reads a spec type's fields and tags once: a configuration of
// 100,000 checks decodes 100,000 specs of a few types.
func layoutOf(t reflect.Type) []placed {
	if l, ok := layouts.Load(t); ok {
		return l.([]placed)
	}
	var out []placed
	collect(t, nil, &out)
	layouts.Store(t, out)
	return out
}

func collect(st reflect.Type, at []int, out *[]placed) {
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		if !sf.IsExported() {
			continue
		}
		index := append(slices.Clip(at), i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && key == "" {
			collect(sf.Type, index, out)
			continue
		}
		if key == "-" || key == "" {
			continue
		}
		f := Field{Key: key, Help: sf.Tag.Get("help"), Required: sf.Tag.Get("required") == "true", flag: sf.Tag.Get("flag")}
		f.Type = typeName(sf.Type)
		if f.Type == "" {
			panic(fmt.Sprintf("fieldset: %s.%s: unsupported field type %s", st, sf.Name, sf.Type))
		}
		*out = append(*out, placed{Field: f, index: index})
	}
}

func typeName(t reflect.Type) string {
	switch t {
	case durationT:
		return "duration"
	case secretT:
		return "secret"
	case rangeT:
		return "range"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64:
		return "int"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		switch t.Elem().Kind() {
		case reflect.String:
			return "list of strings"
		case reflect.Int:
			return "list of ints"
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return "map of strings"
		}
	}
	return ""
}

// Set parses text into the field, as a flag or a YAML scalar gives it. Lists
// take comma-separated items (and append when called again); maps take
// key=value items.
func (f Field) Set(text string) error {
	v := f.v
	switch v.Type() {
	case durationT:
		d, err := duration.Parse(text)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	case secretT:
		s, err := check.ResolveSecret(text)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(s))
		return nil
	case rangeT:
		r, err := check.ParseRange(text)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(r))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (true or false)", text)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", text)
		}
		v.SetInt(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", text)
		}
		v.SetFloat(x)
	case reflect.Slice:
		for _, item := range strings.Split(text, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if err := f.appendItem(item); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for _, item := range strings.Split(text, ",") {
			k, val, ok := strings.Cut(item, "=")
			if !ok {
				k, val, ok = strings.Cut(item, ":")
			}
			if !ok {
				return fmt.Errorf("%q is not KEY=VALUE", item)
			}
			v.SetMapIndex(reflect.ValueOf(strings.TrimSpace(k)), reflect.ValueOf(strings.TrimSpace(val)))
		}
	}
	return nil
}

func (f Field) appendItem(item string) error {
	v := f.v
	switch v.Type().Elem().Kind() {
	case reflect.String:
		v.Set(reflect.Append(v, reflect.ValueOf(item)))
	case reflect.Int:
		n, err := strconv.Atoi(item)
		if err != nil {
			return fmt.Errorf("%q is not an integer", item)
		}
		v.Set(reflect.Append(v, reflect.ValueOf(n)))
	}
	return nil
}

// Reset empties a list or map field, so that a value from config or the
// command line replaces the type's default instead of adding to it.
func (f Field) Reset() {
	switch f.v.Kind() {
	case reflect.Slice, reflect.Map:
		f.v.Set(reflect.Zero(f.v.Type()))
	}
}

// MissingRequired lists required fields that are still zero.
func MissingRequired(spec any) []check.FieldError {
	var errs []check.FieldError
	for _, f := range Of(spec) {
		if f.Required && f.IsZero() {
			errs = append(errs, check.FieldError{Field: f.Key, Msg: "is required"})
		}
	}
	return errs
}

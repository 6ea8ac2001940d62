package protocol

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// The OpenAPI document is for people and other languages; these types are
// what the code speaks. This test keeps the two the same.

const openAPIPath = "../../docs/gateway-api.json"

// documented maps each schema of the document to its Go type.
var documented = map[string]reflect.Type{
	"Record":            reflect.TypeFor[record.Record](),
	"UploadRequest":     reflect.TypeFor[UploadRequest](),
	"UploadResponse":    reflect.TypeFor[UploadResponse](),
	"ItemResult":        reflect.TypeFor[ItemResult](),
	"SyncRequest":       reflect.TypeFor[SyncRequest](),
	"SyncResponse":      reflect.TypeFor[SyncResponse](),
	"Card":              reflect.TypeFor[Card](),
	"Number":            reflect.TypeFor[Number](),
	"BlockedList":       reflect.TypeFor[BlockedList](),
	"AuthoriseRequest":  reflect.TypeFor[AuthoriseRequest](),
	"AuthoriseResponse": reflect.TypeFor[AuthoriseResponse](),
	"ReleaseRequest":    reflect.TypeFor[ReleaseRequest](),
	"HeartbeatRequest":  reflect.TypeFor[HeartbeatRequest](),
	"HeartbeatResponse": reflect.TypeFor[HeartbeatResponse](),
	"Error":             reflect.TypeFor[Error](),
	"CallPayload":       reflect.TypeFor[record.Call](),
	"DenialPayload":     reflect.TypeFor[record.Denial](),
	"OfficerPayload":    reflect.TypeFor[record.Officer](),
	"EventPayload":      reflect.TypeFor[record.Event](),
}

// payloads are record bodies: the gateway keeps unknown fields in them
// (the hash covers them), so their schemas are open.
var payloads = map[string]bool{"CallPayload": true, "DenialPayload": true, "OfficerPayload": true, "EventPayload": true}

// enums are the closed sets of values the document lists.
var enums = map[string][]string{
	"ItemResult.status":   {string(StatusStored), string(StatusDuplicate), string(StatusConflict)},
	"Record.kind":         {string(record.KindCall), string(record.KindDenial), string(record.KindOfficer), string(record.KindEvent)},
	"Card.role":           {string(record.RoleInmate), string(record.RoleOfficer)},
	"CallPayload.outcome": outcomes(),
}

func outcomes() []string {
	var out []string
	for _, o := range record.AllOutcomes {
		out = append(out, string(o))
	}
	return out
}

// endpoints gives each path its request and 2xx response schema ("" for
// 204 No Content).
var endpoints = map[string][2]string{
	PathUpload:    {"UploadRequest", "UploadResponse"},
	PathSync:      {"SyncRequest", "SyncResponse"},
	PathAuthorise: {"AuthoriseRequest", "AuthoriseResponse"},
	PathRelease:   {"ReleaseRequest", ""},
	PathHeartbeat: {"HeartbeatRequest", "HeartbeatResponse"},
}

type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Format               string             `json:"format"`
	Minimum              *float64           `json:"minimum"`
	Properties           map[string]*schema `json:"properties"`
	Required             []string           `json:"required"`
	AdditionalProperties *bool              `json:"additionalProperties"`
	Items                *schema            `json:"items"`
	Enum                 []string           `json:"enum"`
	Description          string             `json:"description"`
}

type media struct {
	Schema schema `json:"schema"`
}

type operation struct {
	RequestBody struct {
		Required bool             `json:"required"`
		Content  map[string]media `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content map[string]media `json:"content"`
	} `json:"responses"`
}

type document struct {
	OpenAPI string                          `json:"openapi"`
	Servers []struct{ Description string }  `json:"servers"`
	Paths   map[string]map[string]operation `json:"paths"`
	Comps   struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

func loadDocument(t *testing.T) document {
	t.Helper()
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	return doc
}

func TestOpenAPIMatchesTypes(t *testing.T) {
	doc := loadDocument(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Servers) == 0 || !strings.Contains(doc.Servers[0].Description, "utual TLS") {
		t.Error("the server entry does not say the transport is mutual TLS")
	}
	for name := range doc.Comps.Schemas {
		if documented[name] == nil {
			t.Errorf("schema %s has no Go type in the test's table", name)
		}
	}
	for name, typ := range documented {
		s := doc.Comps.Schemas[name]
		if s == nil {
			t.Errorf("Go type %v is not documented as schema %s", typ, name)
			continue
		}
		checkStruct(t, name, s, typ)
	}
}

func checkStruct(t *testing.T, name string, s *schema, typ reflect.Type) {
	t.Helper()
	if s.Type != "object" || s.Description == "" {
		t.Errorf("%s: type %q, description %q; want an object with a description", name, s.Type, s.Description)
	}
	if closed := s.AdditionalProperties != nil && !*s.AdditionalProperties; closed == payloads[name] {
		t.Errorf("%s: additionalProperties false = %v; want %v (the decoder refuses unknown fields in wire types; payloads are open)", name, closed, !payloads[name])
	}
	var required []string
	fields := make(map[string]reflect.StructField)
	for f := range typ.Fields() {
		tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" {
			t.Errorf("%s: field %s has no JSON name", name, f.Name)
			continue
		}
		fields[tag] = f
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, tag)
		}
	}
	for prop := range s.Properties {
		if _, ok := fields[prop]; !ok {
			t.Errorf("%s: documented property %q is no field of %v", name, prop, typ)
		}
	}
	for tag, f := range fields {
		p := s.Properties[tag]
		if p == nil {
			t.Errorf("%s: field %s (%q) is not documented", name, f.Name, tag)
			continue
		}
		if p.Description == "" && p.Ref == "" && p.Items == nil {
			t.Errorf("%s.%s: no description", name, tag)
		}
		checkType(t, name+"."+tag, p, f.Type)
		if want, ok := enums[name+"."+tag]; ok {
			if !slices.Equal(p.Enum, want) {
				t.Errorf("%s.%s: enum %v, want %v", name, tag, p.Enum, want)
			}
		} else if p.Enum != nil {
			t.Errorf("%s.%s: enum %v not checked by the test's table", name, tag, p.Enum)
		}
	}
	slices.Sort(required)
	got := slices.Sorted(slices.Values(s.Required))
	if !slices.Equal(got, required) {
		t.Errorf("%s: required %v, want the fields always sent %v", name, got, required)
	}
}

// checkType checks that property p describes a Go value of type typ.
func checkType(t *testing.T, where string, p *schema, typ reflect.Type) {
	t.Helper()
	if typ.Kind() == reflect.Pointer && p.Ref != "" {
		typ = typ.Elem() // an optional object: absent when nil
	}
	if p.Ref != "" {
		name := strings.TrimPrefix(p.Ref, "#/components/schemas/")
		if documented[name] != typ {
			t.Errorf("%s: $ref %s is %v, the field is %v", where, name, documented[name], typ)
		}
		return
	}
	switch {
	case typ == reflect.TypeFor[json.RawMessage]():
		if p.Type != "" && p.Type != "object" {
			t.Errorf("%s: opaque JSON documented as %q", where, p.Type)
		}
		return
	case typ == reflect.TypeFor[time.Time]():
		if p.Type != "string" || p.Format != "date-time" {
			t.Errorf("%s: time documented as %s/%s, want string/date-time", where, p.Type, p.Format)
		}
		return
	}
	want, format := "", ""
	switch typ.Kind() {
	case reflect.String:
		want = "string"
	case reflect.Bool:
		want = "boolean"
	case reflect.Int, reflect.Int64:
		want, format = "integer", "int64"
	case reflect.Uint64:
		want, format = "integer", "uint64"
		if p.Minimum == nil || *p.Minimum < 0 {
			t.Errorf("%s: unsigned but no minimum ≥ 0", where)
		}
	case reflect.Slice:
		if p.Type != "array" || p.Items == nil {
			t.Errorf("%s: %v documented as %q without items", where, typ, p.Type)
			return
		}
		checkType(t, where+"[]", p.Items, typ.Elem())
		return
	default:
		t.Errorf("%s: the test does not know how to document %v", where, typ)
		return
	}
	if p.Type != want || p.Format != format {
		t.Errorf("%s: documented as %s/%s, want %s/%s for %v", where, p.Type, p.Format, want, format, typ)
	}
}

func TestOpenAPIPaths(t *testing.T) {
	doc := loadDocument(t)
	for path := range doc.Paths {
		if _, ok := endpoints[path]; !ok {
			t.Errorf("documented path %s has no constant", path)
		}
	}
	for path, names := range endpoints {
		ops := doc.Paths[path]
		op, ok := ops["post"]
		if !ok || len(ops) != 1 {
			t.Errorf("%s: want exactly a post operation, got %v", path, slices.Collect(maps.Keys(ops)))
			continue
		}
		if req := op.RequestBody.Content[ContentType].Schema.Ref; !op.RequestBody.Required || req != "#/components/schemas/"+names[0] {
			t.Errorf("%s: request body %q (required %v), want %s", path, req, op.RequestBody.Required, names[0])
		}
		okCode, okRef := "200", "#/components/schemas/"+names[1]
		if names[1] == "" {
			okCode, okRef = "204", ""
		}
		resp, ok := op.Responses[okCode]
		if !ok {
			t.Errorf("%s: no %s response", path, okCode)
		} else if got := resp.Content[ContentType].Schema.Ref; got != okRef {
			t.Errorf("%s: %s response %q, want %q", path, okCode, got, okRef)
		}
		for _, code := range []string{"400", "413", "500"} {
			if got := op.Responses[code].Content[ContentType].Schema.Ref; got != "#/components/schemas/Error" {
				t.Errorf("%s: %s response %q, want Error", path, code, got)
			}
		}
	}
}

// Package schemafile is the format of kubeschema's generated files, apart
// from kubeschema so that its generator builds before the files exist.
package schemafile

// Schema is the part of an OpenAPI schema that the checks use, normalised
// from Kubernetes' swagger.json and CRDs' openAPIV3Schema.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"` // a definition's name
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"` // FormatIntOrString, FormatQuantity or OpenAPI's
	Properties           map[string]*Schema `json:"properties,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	// PreserveUnknown allows fields beyond Properties, unchecked.
	PreserveUnknown bool `json:"preserveUnknown,omitempty"`
}

// Formats the generator sets for values that are a number or a string.
const (
	FormatIntOrString = "int-or-string"
	FormatQuantity    = "quantity"
)

// File is one generated schema file.
type File struct {
	// Source names the module and files it was made from.
	Source string `json:"source"`
	// Kinds maps "group/version/Kind" ("v1/Kind" for the core group) to
	// its definition.
	Kinds       map[string]string  `json:"kinds"`
	Definitions map[string]*Schema `json:"definitions"`
}

// KindKey is the key of File.Kinds for an apiVersion and kind.
func KindKey(apiVersion, kind string) string { return apiVersion + "/" + kind }

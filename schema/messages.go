package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	xmessage "golang.org/x/text/message"
)

// printer renders the messages of the kinds message does not. It holds no
// mutable state once built and is shared by all goroutines.
var printer = xmessage.NewPrinter(language.English)

// message renders one failure as the text of a Violation. It writes numbers
// plainly (the validator's printer writes 32416190071 as
// "3.2416190071×10¹⁰" and 1500 as "1,500") and quotes names and strings as
// JSON does; other kinds keep the validator's text.
func message(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Required:
		return "missing " + plural(len(k.Missing), "property", "properties") + " " + quoteAll(k.Missing)
	case *kind.AdditionalProperties:
		return plural(len(k.Properties), "property", "properties") + " " + quoteAll(k.Properties) + " not allowed"
	case *kind.DependentRequired:
		return fmt.Sprintf("missing %s %s, required when %s is present",
			plural(len(k.Missing), "property", "properties"), quoteAll(k.Missing), strconv.Quote(k.Prop))
	case *kind.Dependency:
		return fmt.Sprintf("missing %s %s, required when %s is present",
			plural(len(k.Missing), "property", "properties"), quoteAll(k.Missing), strconv.Quote(k.Prop))
	case *kind.PropertyNames:
		return "invalid property name " + strconv.Quote(k.Property)
	case *kind.Enum:
		if len(k.Want) == 1 {
			return "value must be " + jsonText(k.Want[0])
		}
		want := make([]string, len(k.Want))
		for i, v := range k.Want {
			want[i] = jsonText(v)
		}
		return "value must be one of " + strings.Join(want, ", ")
	case *kind.Const:
		return "value must be " + jsonText(k.Want)
	case *kind.Pattern:
		return fmt.Sprintf("%s does not match pattern %s", strconv.Quote(k.Got), strconv.Quote(k.Want))
	case *kind.Format:
		return fmt.Sprintf("%s is not a valid %s: %v", jsonText(k.Got), k.Want, k.Err)
	case *kind.Minimum:
		return bound("minimum", k.Got, k.Want)
	case *kind.Maximum:
		return bound("maximum", k.Got, k.Want)
	case *kind.ExclusiveMinimum:
		return bound("exclusiveMinimum", k.Got, k.Want)
	case *kind.ExclusiveMaximum:
		return bound("exclusiveMaximum", k.Got, k.Want)
	case *kind.MultipleOf:
		return bound("multipleOf", k.Got, k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("minLength: got %d, want %d", k.Got, k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("maxLength: got %d, want %d", k.Got, k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("minItems: got %d, want %d", k.Got, k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("maxItems: got %d, want %d", k.Got, k.Want)
	case *kind.MinProperties:
		return fmt.Sprintf("minProperties: got %d, want %d", k.Got, k.Want)
	case *kind.MaxProperties:
		return fmt.Sprintf("maxProperties: got %d, want %d", k.Got, k.Want)
	case *kind.AdditionalItems:
		return fmt.Sprintf("the last %d items are not allowed", k.Count)
	case *kind.UniqueItems:
		return fmt.Sprintf("items at %d and %d are equal", k.Duplicates[0], k.Duplicates[1])
	}
	return k.LocalizedString(printer)
}

// split returns one kind per property for the kinds that name several
// (required, additionalProperties), so each is its own Violation; any other
// kind is returned alone.
func split(k jsonschema.ErrorKind) []jsonschema.ErrorKind {
	switch k := k.(type) {
	case *kind.Required:
		if len(k.Missing) > 1 {
			ks := make([]jsonschema.ErrorKind, len(k.Missing))
			for i, p := range k.Missing {
				ks[i] = &kind.Required{Missing: []string{p}}
			}
			return ks
		}
	case *kind.AdditionalProperties:
		if len(k.Properties) > 1 {
			ks := make([]jsonschema.ErrorKind, len(k.Properties))
			for i, p := range k.Properties {
				ks[i] = &kind.AdditionalProperties{Properties: []string{p}}
			}
			return ks
		}
	}
	return []jsonschema.ErrorKind{k}
}

// bound renders a numeric keyword's failure: "minimum: got -1, want 0".
func bound(keyword string, got, want *big.Rat) string {
	return keyword + ": got " + number(got) + ", want " + number(want)
}

// number writes r as an integer when it is one, whatever its size, and
// otherwise as the shortest float that reads back the same.
func number(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// jsonText writes v, a decoded JSON value, as JSON, shortened when long.
func jsonText(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSuffix(b.String(), "\n")
	const max = 80
	if len(s) > max {
		return strings.ToValidUTF8(s[:max-3], "") + "..."
	}
	return s
}

// quoteAll writes names as a comma-separated list of JSON strings.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

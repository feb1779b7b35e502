{#
  An address delivered on one line ("Flat 2, 10 High Street, Cowley, OXFORD, OX4 1AB", or the
  same with no commas at all), cut into the parts other feeds deliver in their own columns:
  address_line1 (premises and street), address_line2 (locality), town and, where the contract
  says the line ends with one, postcode. The cut is made from the end, the way an address is
  read: postcode, then a known post town (else the last comma part), then the locality after
  the street. Nothing is dropped: what cannot be placed stays in address_line1. Without commas
  an address with no locality whose street name starts with a street type ("10 Green Lane")
  would lose a word to the locality; no agency in the region writes one.

  Each step is a column the next one reads (DuckDB resolves an alias defined earlier in the
  same select list), all named after the delivered column so that several addresses of one
  feed do not collide. `words` holds the post towns and street types from the sources' meta.
#}

{% macro address_steps(name, meta, words) -%}
    {%- set column = adapter.quote(name) -%}
    {%- set step = '"__' ~ name ~ '__' -%}
    {%- set towns = words.post_towns | join('|') -%}
    {%- set types = words.street_types | join('|') -%}
    {%- set subs = words.sub_buildings | join('|') -%}
    {%- set postcode_at_end = '(?i)(?:^|[\\s,])([a-z]{1,2}[0-9][a-z0-9]?\\s*[0-9][a-z]{2})\\s*$' -%}
    nullif(trim({{ column }}), '') as {{ step }}text",
    {%- if meta.with_postcode %}
    nullif(regexp_extract({{ step }}text", '{{ postcode_at_end }}', 1), '') as {{ step }}postcode",
    rtrim(regexp_replace({{ step }}text", '{{ postcode_at_end }}', ''), ', ') as {{ step }}rest",
    {%- else %}
    {{ step }}text" as {{ step }}rest",
    {%- endif %}
    coalesce(
        nullif(regexp_extract({{ step }}rest", '(?i)(?:^|[\s,])({{ towns }})$', 1), ''),
        nullif(regexp_extract({{ step }}rest", ',\s*([^,]+)$', 1), '')
    ) as {{ step }}town",
    rtrim(left({{ step }}rest", length({{ step }}rest") - coalesce(length({{ step }}town"), 0)), ', ')
        as {{ step }}head",
    {#- The locality follows the street (and a flat written after it: "10 High Street, Flat 2"):
        the last comma part where the line has commas, else the words after the last street
        type. Written with commas, a part that is a street itself ("Outside the Crown, Mill
        Lane") or a flat is no locality. -#}
    case when {{ step }}text" like '%,%'
         then regexp_extract({{ step }}head",
             '^.*\b(?:{{ types }})\b(?:, (?:{{ subs }}) [^,]+)?,\s*([^,]+)$', 1)
         else regexp_extract({{ step }}head",
             '^.*\b(?:{{ types }})\b(?:\s+(?:{{ subs }})\s+\S+)?\s+(.+)$', 1)
    end as {{ step }}after",
    case when {{ step }}after" <> ''
          and not regexp_matches({{ step }}after", '(?:\S\s+(?:{{ types }})|^(?:{{ subs }})\s.*)$')
         then {{ step }}after" end as {{ step }}locality"
{%- endmacro %}

{% macro address_part(name, part) -%}
    {%- set step = '"__' ~ name ~ '__' -%}
    {%- if part == 'address_line1' -%}
    nullif(rtrim(left({{ step }}head", length({{ step }}head")
        - coalesce(length({{ step }}locality"), 0)), ', '), '')
    {%- elif part == 'address_line2' -%}
    {{ step }}locality"
    {%- elif part == 'town' -%}
    upper({{ step }}town")
    {%- elif part == 'postcode' -%}
    {{ clean_postcode(step ~ 'postcode"') }}
    {%- endif -%}
{%- endmacro %}

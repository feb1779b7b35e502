{#
  An address delivered on one line ("Flat 2, 10 High Street, Cowley, OXFORD, OX4 1AB", or the
  same with no commas at all), cut into the parts other feeds deliver in their own columns:
  address_line1 (premises and street), address_line2 (locality), town and, where the contract
  says the line ends with one, postcode. The cut is made from the end, the way an address is
  read: postcode, then a known post town (else the last comma part), then the locality after
  the street. Nothing is dropped: what cannot be placed stays in address_line1. Without commas
  an address with no locality whose street name starts with a street type ("10 Green Lane")
  would lose a word to the locality; no agency in the region writes one.

  A staging model calls address_steps in its `split` CTE, once for each such column, then
  address_part for each part it keeps. Each step is a column the next one reads (DuckDB
  resolves an alias defined earlier in the same select list), all named after the delivered
  column so that several addresses of one feed do not collide.
#}

{#- The post towns, street types and sub-building words of the seed address_words (written by
    `hub dbt-files` from contracts/reference/addresses.yml), by kind, read from the warehouse
    when a model is compiled and written into its regular expressions as constants: DuckDB
    compiles a pattern that comes from a column again for every row, hundreds of times slower.
    So the seed is loaded before staging compiles (`dbt build` does, seeds first). The words'
    order does not matter: each is matched whole, up to a word boundary or the line's end. -#}
{% macro address_words() -%}
    {%- set seed = ref('address_words') -%}
    {%- set words = {'post_town': [], 'street_type': [], 'sub_building': []} -%}
    {%- if execute -%}
        {%- if load_relation(seed) is none -%}
            {{ exceptions.raise_compiler_error(
                "The seed address_words is not in the warehouse yet: run `dbt seed` (or `dbt build`)") }}
        {%- endif -%}
        {%- for row in run_query("select kind, word from " ~ seed ~ " order by kind, word") -%}
            {%- do words[row['kind']].append(row['word']) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(words) }}
{%- endmacro %}

{#- The steps that cut the delivered column `name`, ending with the line's postcode when
    with_postcode. -#}
{% macro address_steps(name, with_postcode=false) -%}
    {%- set column = '"' ~ name ~ '"' -%}
    {%- set step = '"__' ~ name ~ '__' -%}
    {%- set words = address_words() -%}
    {%- set towns = words.post_town | join('|') -%}
    {%- set types = words.street_type | join('|') -%}
    {%- set subs = words.sub_building | join('|') -%}
    {%- set postcode_at_end = '(?i)(?:^|[\\s,])([a-z]{1,2}[0-9][a-z0-9]?\\s*[0-9][a-z]{2})\\s*$' -%}
    nullif(trim({{ column }}), '') as {{ step }}text",
    {%- if with_postcode %}
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

{#- A part of the delivered column `name` cut by address_steps: address_line1, address_line2,
    town, postcode, or postcode_reason (why the postcode is NULL). -#}
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
    {%- elif part == 'postcode_reason' -%}
    {{ postcode_reason(step ~ 'postcode"') }}
    {%- else -%}
    {{ exceptions.raise_compiler_error("address_part: no part " ~ part) }}
    {%- endif -%}
{%- endmacro %}

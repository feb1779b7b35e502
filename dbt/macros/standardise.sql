{# How staging standardises each kind of value, one macro per kind; the staging models call
   them a column at a time (written by `hub dbt-files`). Each takes the delivered column as
   SQL ('"DATE_OF_BIRTH"'). #}

{% macro clean_name(column) -%}
    {#- O'Brien -> OBRIEN, Smith-Jones -> SMITH JONES, Zoë -> ZOE -#}
    nullif(trim(regexp_replace(regexp_replace(regexp_replace(
        upper(strip_accents({{ column }})), '-', ' ', 'g'), '[^A-Z ]+', '', 'g'), ' +', ' ', 'g')), '')
{%- endmacro %}

{# A full name delivered in one column, cut into `part` ('surname' or 'first_name') before
   the punctuation goes: "SURNAME, Forename" (name_format 'surname_first') or "Forename
   Surname" ('forename_first', the last word the surname). #}
{% macro split_name(column, part, name_format) -%}
    {%- if name_format == 'surname_first' -%}
        {{ clean_name("split_part(" ~ column ~ ", ',', " ~ (1 if part == 'surname' else 2) ~ ")") }}
    {%- elif part == 'first_name' -%}
        {{ clean_name("regexp_replace(" ~ column ~ ", '\s+\S+$', '')") }}
    {%- else -%}
        {{ clean_name("regexp_extract(" ~ column ~ ", '\S+$')") }}
    {%- endif -%}
{%- endmacro %}

{% macro compact_postcode(column) -%}
    upper(regexp_replace({{ column }}, '\s+', '', 'g'))
{%- endmacro %}

{% macro clean_postcode(column) -%}
    case when regexp_full_match({{ compact_postcode(column) }},
                                '[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}')
         then left({{ compact_postcode(column) }}, length({{ compact_postcode(column) }}) - 3)
              || ' ' || right({{ compact_postcode(column) }}, 3)
    end
{%- endmacro %}

{% macro postcode_reason(column) -%}
    case when {{ column }} is null then 'missing'
         when {{ clean_postcode(column) }} is null then 'not a UK postcode'
    end
{%- endmacro %}

{% macro parse_date(column, format) -%}
    try_strptime({{ column }}, '{{ format }}')::date
{%- endmacro %}

{% macro parse_time(column, format) -%}
    try_strptime({{ column }}, '{{ format }}')::time
{%- endmacro %}

{% macro canonical_code(column, value_set) -%}
    (select v.canonical from {{ ref('value_set_codes') }} as v
     where v.value_set = '{{ value_set }}' and v.code = {{ column }})
{%- endmacro %}

{# How staging standardises each kind of value; one macro per kind. #}

{% macro clean_name(column) -%}
    {#- O'Brien -> OBRIEN, Smith-Jones -> SMITH JONES, Zoë -> ZOE -#}
    nullif(trim(regexp_replace(regexp_replace(regexp_replace(
        upper(strip_accents({{ column }})), '-', ' ', 'g'), '[^A-Z ]+', '', 'g'), ' +', ' ', 'g')), '')
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

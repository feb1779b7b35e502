{#
  A feed's staging model: every column typed, named and standardised according to the concept
  its contract gives it (carried in the source's column meta, written by `hub dbt-files`).
  Staging only renames, casts and standardises; it never drops or joins rows.
#}

{% macro staged_name(meta) -%}
    {{ meta.concept | replace('attr.', '') | replace('.', '_') }}
{%- endmacro %}

{% macro stage_column(name, meta) -%}
    {%- set column = adapter.quote(name) -%}
    {%- set out = staged_name(meta) -%}
    {%- set attribute = meta.concept.split('.')[-1] -%}
    {%- if attribute == 'full_name' -%}
        {#- "SURNAME, Forename" or "Forename Surname": split before the punctuation goes -#}
        {%- set role = meta.concept.split('.')[0] -%}
        {%- if meta.name_format == 'surname_first' -%}
        {{ clean_name("split_part(" ~ column ~ ", ',', 1)") }} as {{ role }}_surname,
        {{ clean_name("split_part(" ~ column ~ ", ',', 2)") }} as {{ role }}_first_name
        {%- else -%}
        {{ clean_name("regexp_replace(" ~ column ~ ", '\s+\S+$', '')") }} as {{ role }}_first_name,
        {{ clean_name("regexp_extract(" ~ column ~ ", '\S+$')") }} as {{ role }}_surname
        {%- endif %}
    {%- elif meta.split -%}
        {#- the line as delivered, then the parts the feed has no column for -#}
        {%- set role = meta.concept.split('.')[0] -%}
        nullif(trim({{ column }}), '') as {{ out }}
        {%- for part in meta.split %},
        {{ address_part(name, part) }} as {{ role }}_{{ part }}
        {%- if part == 'postcode' %},
        {{ postcode_reason('"__' ~ name ~ '__postcode"') }} as {{ role }}_postcode_reason
        {%- endif %}
        {%- endfor %}
    {%- elif attribute in ('first_name', 'surname') -%}
        {{ clean_name(column) }} as {{ out }}
    {%- elif attribute == 'postcode' -%}
        {{ clean_postcode(column) }} as {{ out }},
        {{ postcode_reason(column) }} as {{ out }}_reason
    {%- elif meta.type == 'date' -%}
        {{ parse_date(column, meta.format) }} as {{ out }}
    {%- elif meta.type == 'time' -%}
        {{ parse_time(column, meta.format) }} as {{ out }}
    {%- elif meta.type == 'integer' -%}
        try_cast({{ column }} as integer) as {{ out }}
    {%- elif meta.canonical -%}
        {{ canonical_code(column, meta.value_set) }} as {{ out }},
        {{ column }} as {{ out }}_code
    {%- else -%}
        nullif(trim({{ column }}), '') as {{ out }}
    {%- endif -%}
{%- endmacro %}

{% macro stage_feed(feed) %}
{#- named outside the execute block, so dbt knows every staging model reads the codes -#}
{%- set codes = ref('value_set_codes') %}
with

source as (

    select * from {{ source('raw', feed) }}

),

split as (

    select
        {%- if execute %}
        {%- set table = graph.sources['source.partnership_data_hub.raw.' ~ feed] %}
        {%- for name, col in table.columns.items() if col.meta.split %}
        {{ address_steps(name, col.meta, table.source_meta.address_words) }},
        {%- endfor %}
        {%- endif %}
        *
    from source

),

standardised as (

    select
        _supply_id || '#' || _row_number as record_id,
        '{{ feed }}' as source_feed,
        {%- if execute %}
        {%- set table = graph.sources['source.partnership_data_hub.raw.' ~ feed] %}
        {%- for name, col in table.columns.items() %}
        {{ stage_column(name, col.meta) }},
        {%- endfor %}
        {%- endif %}
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at
    from split

)

select * from standardised
{% endmacro %}

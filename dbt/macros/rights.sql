{#
  A feed's delivered rows (the CTE `delivered`, with its `record_key`) as the requests register
  says (docs/rights.md): the records erased or restricted left out, and each rectified value in
  place of the one delivered, with the requests that rectified the row in `rectified_by`. The
  register reaches dbt through two tables the hub writes before every build,
  ops.withheld_records and ops.corrections.
#}
{#- Feed -> the delivered columns a rectification replaces, read from the warehouse when a
    model is compiled, so staging names only those columns. -#}
{% macro rectified_columns() -%}
    {%- set columns = {} -%}
    {%- if execute -%}
        {%- for row in run_query("select distinct feed, column_name from "
                                 ~ source('ops', 'corrections') ~ " order by 1, 2") -%}
            {%- do columns.setdefault(row['feed'], []).append(row['column_name']) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}

{% macro honour_rights(feed) -%}
    {%- set columns = rectified_columns().get(feed, []) -%}
    select
        delivered.*{% if columns %} replace (
        {%- for c in columns %}
            coalesce(fixed."{{ c }}", delivered."{{ c }}") as "{{ c }}"{{ "," if not loop.last }}
        {%- endfor %}
        ),
        fixed.rectified_by
        {%- else %},
        null::varchar as rectified_by
        {%- endif %}
    from delivered
    {%- if columns %}
    left join (
        select
            record_key,
            {%- for c in columns %}
            arg_max(value, request_id) filter (where column_name = '{{ c }}') as "{{ c }}",
            {%- endfor %}
            string_agg(distinct request_id, ',' order by request_id) as rectified_by
        from {{ source('ops', 'corrections') }}
        where feed = '{{ feed }}'
        group by record_key
    ) as fixed on delivered.record_key = fixed.record_key
    {%- endif %}
    where delivered.record_key not in (
        select withheld.record_key from {{ source('ops', 'withheld_records') }} as withheld
        where withheld.feed = '{{ feed }}'
    )
{%- endmacro %}

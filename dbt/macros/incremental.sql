{#
  The intermediate models are built a month at a time. Every row carries the fingerprint of
  the supplies its month held when it was built (int_periods); a month whose fingerprint has
  changed since (a supply arrived, or replaced another) is rebuilt whole, and a month the
  archive no longer holds goes. So an incremental build gives what a full one would, as long
  as the models' code is unchanged: after changing it, build with --full-refresh.
#}

{#
  The condition a row's month must meet to be built: every month on a full build; on an
  incremental one, the months whose fingerprint differs from the one their rows carry. The
  months are written out as constants, so DuckDB skips the other months' rows as it reads
  them instead of standardising every row of the archive first.
#}
{% macro months_to_build() -%}
    {#- a table built before the fingerprint existed fails on_schema_change: rebuild it whole -#}
    {%- if execute and is_incremental()
          and 'period_supplies' in adapter.get_columns_in_relation(this) | map(attribute='name') -%}
        {%- set changed = run_query(
            "select p.period from " ~ ref('int_periods') ~ " as p where not exists ("
            ~ "select 1 from " ~ this ~ " as built where built.period = p.period "
            ~ "and built.period_supplies = p.supplies) order by p.period") -%}
        {%- set months = changed.columns[0].values() | list -%}
        {{ return("period in ('" ~ months | join("', '") ~ "')" if months else "false") }}
    {%- endif -%}
    {{ return("true") }}
{%- endmacro %}

{# incremental_strategy='replace_months': delete the rows of months rebuilt or gone, insert. #}
{% macro get_incremental_replace_months_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} as built
    where not exists (
        select 1 from {{ ref('int_periods') }} as p
        where p.period = built.period and p.supplies = built.period_supplies
    );

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

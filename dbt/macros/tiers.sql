{# The privacy rules of the published tiers, each written once (README, "The three tiers" and
   "The published tiers"). The pseudonym is the SQL function `pseudonym`, a keyed
   HMAC registered by dagster_project/platform/dbt_plugin.py. #}

{# The smallest geography a Level 2 postcode may be widened to: "RG1 4AB" -> "RG1 4". #}
{% macro postcode_sector(postcode) -%}
    nullif(regexp_extract({{ postcode }}, '^([A-Z0-9]+ [0-9])', 1), '')
{%- endmacro %}

{% macro postcode_district(postcode) -%}
    nullif(split_part({{ postcode }}, ' ', 1), '')
{%- endmacro %}

{% macro postcode_area(postcode) -%}
    nullif(regexp_extract({{ postcode }}, '^([A-Z]+)', 1), '')
{%- endmacro %}

{# Whole years between a birth date and a date. #}
{% macro age_on(date_of_birth, on_date) -%}
    (date_diff('year', {{ date_of_birth }}, {{ on_date }})
     - (strftime({{ on_date }}, '%m%d') < strftime({{ date_of_birth }}, '%m%d'))::integer)
{%- endmacro %}

{# Age bands of person-level tables, and the wider bands k-anonymity falls back to. #}
{% macro age_band(age) -%}
    case
        when {{ age }} is null then null
        when {{ age }} < 10 then '0-9'
        when {{ age }} < 18 then '10-17'
        when {{ age }} < 25 then '18-24'
        when {{ age }} < 35 then '25-34'
        when {{ age }} < 45 then '35-44'
        when {{ age }} < 55 then '45-54'
        when {{ age }} < 65 then '55-64'
        else '65+'
    end
{%- endmacro %}

{% macro wide_age_band(age) -%}
    case
        when {{ age }} is null then null
        when {{ age }} < 18 then '0-17'
        when {{ age }} < 35 then '18-34'
        when {{ age }} < 65 then '35-64'
        else '65+'
    end
{%- endmacro %}

{# Level 1 disclosure control over `relation`, whose rows are cells: the columns of
   `partition_by` (say month and measure), `level` (0 the whole partnership, then district,
   ward, LSOA), `area_code`, `parent_code` (the area one level up) and `n`, the unrounded
   count. Every count of 1 to 7 is suppressed (primary). Then, level by level from the top,
   wherever a total and its parts would leave exactly one of them unknown (so it could be
   worked out as the total minus the others), the smallest published part is suppressed too
   (secondary). Published counts are rounded to the nearest 5, totals from unrounded values.
   Adds `suppression` ('primary', 'secondary' or NULL) and `value` (NULL where suppressed). #}
{% macro disclosure_control(relation, partition_by, levels=4) -%}
    {%- set keys = [] %}
    {%- set on = [] %}
    {%- for k in partition_by %}
        {%- do keys.append('c.' ~ k) %}
        {%- do on.append('c.' ~ k ~ ' = p.' ~ k) %}
    {%- endfor %}

    step_0 as (
        select
            *,
            case when n between 1 and 7 then 'primary' end as suppression
        from {{ relation }}
    ),

    {%- for level in range(1, levels) %}

    parts_{{ level }} as (
        select
            c.*,
            coalesce(p.suppression is not null, false)::integer
            + count(c.suppression) over (partition by {{ keys | join(', ') }}, c.parent_code) as unknown,
            row_number() over (
                partition by {{ keys | join(', ') }}, c.parent_code
                order by c.suppression is not null, c.n = 0, c.n, c.area_code
            ) as smallest
        from step_{{ level - 1 }} as c
        left join step_{{ level - 1 }} as p
            on {{ on | join(' and ') }} and p.area_code = c.parent_code
            and p.level = {{ level - 1 }}
        where c.level = {{ level }}
    ),

    step_{{ level }} as (
        select * from step_{{ level - 1 }} where level <> {{ level }}
        union all by name
        select
            * exclude (unknown, smallest) replace (
                case
                    when suppression is null and unknown = 1 and smallest = 1 then 'secondary'
                    else suppression
                end as suppression
            )
        from parts_{{ level }}
    ),

    {%- endfor %}

    controlled as (
        select
            *,
            case when suppression is null then (round(n / 5) * 5)::integer end as value
        from step_{{ levels - 1 }}
    )
{%- endmacro %}

{# How often someone was in a role (victim, offender), as a neighbour might know it: '0', '1'
   or '2+' ('band'), or only whether ever ('ever': '0' or '1+', for k-anonymity). #}
{# One rung of Level 2's person ladder (l2_person_factors): the person's age band (`age`:
   age_band or wide_age_band), sex, ethnicity (`ethnicity`: the code, its broad ethnic_group,
   or none), home area (`area`: postcode_sector, postcode_district or postcode_area) and
   victim and offender bands (`roles`: 'band' or 'ever'), from `p` (prep_people) and `f`
   (prep_person_flags). #}
{% macro person_rung(age, ethnicity, area, roles) -%}
    {%- set p = 'p.current_postcode' -%}
    {
        'age_band': {{ age_band('p.age') if age == 'age_band' else wide_age_band('p.age') }},
        'sex': p.sex,
        'ethnicity': {{ 'p.ethnicity' if ethnicity == 'ethnicity'
            else ethnic_group('p.ethnicity') if ethnicity else 'null' }},
        'area': {{ postcode_sector(p) if area == 'postcode_sector'
            else postcode_district(p) if area == 'postcode_district' else postcode_area(p) }},
        'area_type': '{{ area | replace('_', ' ') }}',
        'victim': {{ role_band('f.victimisations', roles) }},
        'offender': {{ role_band('f.offences', roles) }}
    }
{%- endmacro %}

{% macro role_band(events, precision='band') -%}
    case
        when coalesce({{ events }}, 0) = 0 then '0'
        {%- if precision == 'band' %}
        when {{ events }} = 1 then '1'
        else '2+'
        {%- else %}
        else '1+'
        {%- endif %}
    end
{%- endmacro %}

{% macro ethnic_group(ethnicity) -%}
    case left({{ ethnicity }}, 1)
        when 'A' then 'Asian'
        when 'B' then 'Black'
        when 'M' then 'Mixed'
        when 'W' then 'White'
        when 'O' then 'Other'
    end
{%- endmacro %}

{# k-anonymity and l-diversity by local recoding. `relation` has a column `ladder`: a list of
   structs, the row's quasi-identifiers from the most detailed to the most general, and the
   columns the `sensitive` expressions read (flags an agency records that no one may learn from
   a class: docs/disclosure-control.md). Every row starts at the first rung; each round, every
   row whose class (the rows publishing the same values) is smaller than k, or whose members all
   have one of the sensitive flags, moves one step up its ladder. A class only moves whole, and
   a class that is large and mixed enough only gains members, so the rounds end with every class
   safe, except rows still unsafe at the top, which are withheld (`withheld` true). Adds
   `generalisation` (steps taken, from 0), `published` (the struct published) and `class_size`. #}
{% macro k_anonymise(relation, k, sensitive=[]) -%}
    {%- set unsafe -%}
        (count(*) over (partition by ladder[step]) < {{ k }}
        {%- for flag in sensitive %}
            or bool_and(coalesce({{ flag }}, false)) over (partition by ladder[step])
        {%- endfor %})
    {%- endset %}
    round_0 as (
        select *, 1 as step from {{ relation }}
    ),
    {%- set rounds = 9 %}
    {%- for r in range(1, rounds) %}
    round_{{ r }} as (
        select
            * replace (
                case
                    when {{ unsafe }} and step < len(ladder) then step + 1
                    else step
                end as step
            )
        from round_{{ r - 1 }}
    ),
    {%- endfor %}
    anonymised as (
        select
            * exclude (step, ladder),
            step - 1 as generalisation,
            ladder[step] as published,
            count(*) over (partition by ladder[step]) as class_size,
            {{ unsafe }} as withheld
        from round_{{ rounds - 1 }}
    )
{%- endmacro %}

{# The cells Level 1 publishes from `relation` (one row per thing counted, with the columns
   of `keys` and the `lsoa_code` it is counted in): every combination of `grid` (a relation
   of the keys' values) with every area of prep_area_tree, and `n`, how many rows fall in it.
   Each area is counted from its LSOAs, so the parts always add up to the total; what has no
   LSOA counts in 'Area not known'. #}
{% macro area_cells(relation, keys, grid) -%}
    {%- set on = [] %}
    {%- for k in keys %}{% do on.append('g.' ~ k ~ ' = c.' ~ k) %}{% endfor %}
    located as (
        select
            {% for k in keys %}r.{{ k }}, {% endfor %}
            a.lsoa_code,
            a.ward_code,
            a.district_code
        from {{ relation }} as r
        left join {{ ref('prep_areas') }} as a on r.lsoa_code = a.lsoa_code
    ),

    counts as (
        {%- for level, area, present in [
            (3, 'lsoa_code', 'lsoa_code is not null'),
            (2, 'ward_code', 'ward_code is not null'),
            (1, "coalesce(district_code, 'unknown')", 'true'),
            (0, "'all'", 'true')] %}
        select
            {% for k in keys %}{{ k }}, {% endfor %}
            {{ level }} as level,
            {{ area }} as area_code,
            count(*) as n
        from located
        where {{ present }}
        group by all
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ),

    cells as (
        select
            g.*,
            t.level,
            t.geography,
            t.area_code,
            t.area_name,
            t.parent_code,
            t.population,
            coalesce(c.n, 0) as n
        from {{ grid }} as g
        cross join {{ ref('prep_area_tree') }} as t
        left join counts as c
            on {{ on | join(' and ') }} and t.level = c.level and t.area_code = c.area_code
    )
{%- endmacro %}

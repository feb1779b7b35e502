{{ config(alias='strategic_profile') }}
-- The strategic profile: events by month, area (partnership, district, ward, LSOA) and
-- measure (crime by offence group, knife-enabled crime, ASB, deliberate fires, A&E and
-- ambulance assaults, school exclusions, drug treatment starts, custody releases), against
-- the same month a year before. Disclosure-controlled: counts of 1 to 7 and the cells that
-- would reveal them are NULL, with `suppression` saying why; every other count is rounded
-- to the nearest 5. Totals come from the unrounded counts, changes from the published ones
-- (from unrounded counts a percentage would give them back).

with

measures as (

    select * from {{ ref('prep_event_measures') }}

),

areas as (

    select * from {{ ref('prep_areas') }}

),

tree as (

    select * from {{ ref('prep_area_tree') }}

),

months as (

    select distinct period as month from {{ ref('int_events') }}

),

measure_names as (

    select distinct measure from measures

),

located as (

    select
        m.month,
        m.measure,
        a.lsoa_code,
        a.ward_code,
        a.district_code
    from measures as m
    left join areas as a on m.lsoa_code = a.lsoa_code

),

counts as (

    select
        month,
        measure,
        3 as level,
        lsoa_code as area_code,
        count(*) as n
    from located
    where lsoa_code is not null
    group by all
    union all
    select
        month,
        measure,
        2 as level,
        ward_code as area_code,
        count(*) as n
    from located
    where ward_code is not null
    group by all
    union all
    select
        month,
        measure,
        1 as level,
        coalesce(district_code, 'unknown') as area_code,
        count(*) as n
    from located
    group by all
    union all
    select
        month,
        measure,
        0 as level,
        'all' as area_code,
        count(*) as n
    from located
    group by all

),

cells as (

    select
        mo.month,
        me.measure,
        t.level,
        t.geography,
        t.area_code,
        t.area_name,
        t.parent_code,
        coalesce(c.n, 0) as n
    from months as mo
    cross join measure_names as me
    cross join tree as t
    left join counts as c
        on
            mo.month = c.month and me.measure = c.measure
            and t.level = c.level and t.area_code = c.area_code

),

{{ disclosure_control('cells', ['month', 'measure']) }},

final as (

    select
        c.month,
        c.geography,
        c.area_code,
        c.area_name,
        c.parent_code,
        c.measure,
        c.value as count,
        c.suppression,
        p.value as count_previous_year,
        p.suppression as suppression_previous_year,
        case
            when c.suppression is null and p.suppression is null and p.value > 0
                then round(100 * (c.value - p.value) / p.value)::integer
        end as change_percent
    from controlled as c
    left join controlled as p
        on
            p.month = strftime(strptime(c.month, '%Y-%m') - interval 1 year, '%Y-%m')
            and c.measure = p.measure and c.area_code = p.area_code

)

select * from final

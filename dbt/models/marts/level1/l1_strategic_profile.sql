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

months as (

    select distinct period as month from {{ ref('int_events') }}

),

measure_names as (

    select distinct measure from measures

),

grid as (

    select
        months.month,
        measure_names.measure
    from months
    cross join measure_names

),

{{ area_cells('measures', ['month', 'measure'], 'grid') }},

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

{{ config(alias='events') }}
-- Every event of every feed, depersonalised: its type, date, hour and day of week, and
-- where it happened to the nearest safe point (prep_event_locations). The event key is a
-- keyed pseudonym of the hub's event ID, which holds the agency's reference.

with

events as (

    select * from {{ ref('int_events') }}

),

locations as (

    select * from {{ ref('prep_event_locations') }}

),

offences as (

    select
        code,
        label,
        grouping
    from {{ ref('value_set_codes') }}
    where value_set = 'ho_offence'

),

crimes as (

    select
        record_id,
        weapon
    from {{ ref('stg_police__crime_offence') }}

),

final as (

    select
        pseudonym(e.event_id) as event_key,
        e.agency,
        e.source_feed,
        e.event_type,
        e.category,
        o.label as category_label,
        replace(o.grouping, '_', ' ') as offence_group,
        c.weapon = 'Knife' as knife_enabled,
        e.event_date,
        e.period as event_month,
        hour(e.event_time)::integer as event_hour,
        dayname(e.event_date) as day_of_week,
        l.is_property,
        l.published_postcode as postcode,
        l.published_sector as postcode_sector,
        l.published_easting as easting,
        l.published_northing as northing,
        l.published_point as point_basis,
        l.lsoa_code,
        l.lsoa_name,
        l.ward_code,
        l.ward_name,
        l.district_code,
        l.district_name
    from events as e
    left join locations as l on e.event_id = l.event_id
    left join offences as o on e.category = o.code
    left join crimes as c on e.record_id = c.record_id

)

select * from final

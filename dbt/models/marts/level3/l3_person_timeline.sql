{{ config(alias='person_timeline') }}
-- Everything that happened to or around each person, across agencies, in date order: one
-- row per person and event, with their role in it and where it was.

with

records as (

    select * from {{ ref('prep_person_records') }}

),

event_people as (

    select * from {{ ref('int_event_people') }}

),

events as (

    select * from {{ ref('prep_events') }}

),

locations as (

    select * from {{ ref('prep_event_locations') }}

),

final as (

    select
        r.person_id,
        e.event_date,
        e.event_time,
        e.agency,
        e.source_feed,
        e.event_type,
        e.category,
        e.category_label,
        ep.role,
        e.event_ref,
        r.agency_ref,
        l.location_address,
        l.postcode as location_postcode,
        l.uprn as location_uprn,
        l.lsoa_name,
        l.ward_name,
        l.district_name
    from event_people as ep
    inner join records as r on ep.person_record_id = r.person_record_id
    inner join events as e on ep.event_id = e.event_id
    left join locations as l on e.event_id = l.event_id

)

select * from final

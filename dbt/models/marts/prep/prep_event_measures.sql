-- Which Level 1 measures each event counts towards, and where: the place it happened or,
-- for events that have none (a treatment start, a release), the home of the person in it.
-- An event may count in more than one measure (a knife-enabled assault with injury).

with

events as (

    select * from {{ ref('prep_events') }}

),

locations as (

    select * from {{ ref('prep_event_locations') }}

),

event_people as (

    select * from {{ ref('int_event_people') }}

),

records as (

    select * from {{ ref('prep_person_records') }}

),

homes as (

    select
        ep.event_id,
        min(r.home_lsoa_code) as lsoa_code
    from event_people as ep
    inner join records as r on ep.person_record_id = r.person_record_id
    group by ep.event_id

),

measured as (

    select
        e.event_id,
        e.period as month,
        case
            when e.source_feed = 'crime_offence'
                then 'crime: ' || coalesce(e.offence_group, 'other')
            when e.source_feed = 'asb' then 'anti-social behaviour (council)'
            when e.source_feed = 'incidents' and e.category like 'ASB%'
                then 'anti-social behaviour (police incidents)'
            when e.source_feed = 'deliberate_fires' and e.category like 'DELIB%'
                then 'deliberate fires'
            when e.source_feed = 'ae_assaults' then 'A&E assault attendances'
            when e.source_feed = 'ambulance_calls' and e.category = 'C2 - Assault'
                then 'ambulance assault calls'
            when e.source_feed = 'school_exclusions' then 'school exclusions'
            when e.event_type = 'drug treatment start' then 'drug treatment starts'
            when e.source_feed in ('prison_releases', 'yoi_releases') then 'custody releases'
        end as measure,
        e.knife_enabled
    from events as e

),

final as (

    select
        m.event_id,
        m.month,
        u.measure,
        coalesce(l.lsoa_code, h.lsoa_code) as lsoa_code,
        case
            when l.lsoa_code is not null then 'where it happened'
            when h.lsoa_code is not null then 'home of the person'
        end as area_basis
    from measured as m
    cross join
        unnest([
            m.measure,
            case when m.knife_enabled then 'crime: knife-enabled' end
        ]) as u (measure)
    left join locations as l on m.event_id = l.event_id
    left join homes as h on m.event_id = h.event_id
    where u.measure is not null

)

select * from final

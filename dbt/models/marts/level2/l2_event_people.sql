{{ config(alias='event_people') }}
-- Who was in each event and in what role (offender, victim, patient ...), by pseudonymous
-- person key, with their age at the event in whole years and their sex.

with

event_people as (

    select * from {{ ref('int_event_people') }}

),

events as (

    select * from {{ ref('int_events') }}

),

records as (

    select * from {{ ref('prep_person_records') }}

),

people as (

    select * from {{ ref('prep_people') }}

),

final as (

    select
        pseudonym(e.event_id) as event_key,
        pseudonym(r.person_id) as person_key,
        ep.role,
        ep.source_feed,
        coalesce(
            {{ age_on('p.date_of_birth', 'e.event_date') }},
            r.age
        ) as age_at_event,
        p.sex
    from event_people as ep
    inner join events as e on ep.event_id = e.event_id
    inner join records as r on ep.person_record_id = r.person_record_id
    inner join people as p on r.person_id = p.person_id

)

select * from final

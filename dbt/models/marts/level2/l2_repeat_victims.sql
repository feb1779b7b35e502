{{ config(alias='repeat_victims') }}
-- People who were the victim of more than one crime in the release's months, by
-- pseudonymous key: how often, over what span, and of which offence groups.

with

event_people as (

    select * from {{ ref('l2_event_people') }}

),

events as (

    select * from {{ ref('l2_events') }}

),

final as (

    select
        ep.person_key,
        count(distinct ep.event_key) as victimisations,
        min(e.event_month) as first_month,
        max(e.event_month) as last_month,
        list_sort(
            list(distinct coalesce(e.offence_group, e.category))
            filter (where coalesce(e.offence_group, e.category) is not null))
            as offence_groups
    from event_people as ep
    inner join events as e on ep.event_key = e.event_key
    where ep.role = 'victim'
    group by ep.person_key
    having count(distinct ep.event_key) > 1

)

select * from final

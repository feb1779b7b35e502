-- One row per person ID: the best-known identity (the value most records give, the latest
-- on a tie), current and past homes, every agency reference, and when they were first and
-- last seen. Level 3's single view and Level 2's person tables both start here.

with

records as (

    select * from {{ ref('prep_person_records') }}

),

event_people as (

    select * from {{ ref('int_event_people') }}

),

events as (

    select * from {{ ref('int_events') }}

),

areas as (

    select * from {{ ref('prep_areas') }}

),

release_window as (

    select * from {{ ref('prep_release_window') }}

),

seen as (

    select
        r.person_id,
        min(e.event_date) as first_seen,
        max(e.event_date) as last_seen,
        count(distinct e.event_id) as events
    from records as r
    inner join event_people as ep on r.person_record_id = ep.person_record_id
    inner join events as e on ep.event_id = e.event_id
    group by r.person_id

),

-- How many records give each value of each identity attribute, and when last.
votes as (

    select
        person_id,
        u.v.attribute,
        u.v.value,
        count(*) as n,
        max(period) as latest
    from records
    cross join
        unnest([
            { 'attribute': 'forename', 'value': forename },
            { 'attribute': 'surname', 'value': surname },
            { 'attribute': 'date_of_birth', 'value': date_of_birth::varchar },
            { 'attribute': 'sex', 'value': sex },
            { 'attribute': 'ethnicity', 'value': ethnicity }
        ]) as u (v)
    where u.v.value is not null
    group by all

),

-- The value most records give; on a tie the latest, then the first in order, so every
-- build gives the same answer.
best_known as (

    select
        person_id,
        first(value order by n desc, latest desc, value asc)
        filter (where attribute = 'forename') as forename,
        first(value order by n desc, latest desc, value asc)
        filter (where attribute = 'surname') as surname,
        first(value order by n desc, latest desc, value asc)
        filter (where attribute = 'date_of_birth')::date as date_of_birth,
        first(value order by n desc, latest desc, value asc)
        filter (where attribute = 'sex') as sex,
        first(value order by n desc, latest desc, value asc)
        filter (where attribute = 'ethnicity') as ethnicity
    from votes
    group by person_id

),

-- The latest record's value (the last record of the latest month on a tie).
identity as (

    select
        person_id,
        list_sort(
            list(distinct concat_ws(' ', forename, surname))
            filter (where forename is not null or surname is not null)
        ) as names_recorded,
        first(age order by period desc, record_id desc)
        filter (where age is not null) as latest_age,
        max(period) filter (where age is not null) as latest_age_period,
        first(address order by period desc, record_id desc)
        filter (where address is not null) as current_address,
        first(postcode order by period desc, record_id desc)
        filter (where postcode is not null) as current_postcode,
        first(home_uprn order by period desc, record_id desc)
        filter (where home_uprn is not null) as current_uprn,
        first(home_lsoa_code order by period desc, record_id desc)
        filter (where home_lsoa_code is not null) as home_lsoa_code,
        list_sort(
            list(distinct { 'address': address, 'postcode': postcode, 'uprn': home_uprn })
            filter (where address is not null)
        ) as addresses,
        list_sort(
            list(distinct { 'agency': agency, 'feed': source_feed, 'ref': agency_ref })
            filter (where agency_ref is not null)
        ) as agency_refs,
        list_sort(list(distinct source_feed)) as feeds,
        count(*) as records,
        min(period) as first_month,
        max(period) as last_month
    from records
    group by person_id

),

final as (

    select
        i.person_id,
        b.forename,
        b.surname,
        i.names_recorded,
        b.date_of_birth,
        b.sex,
        b.ethnicity,
        i.* exclude (person_id, names_recorded, latest_age, latest_age_period),  -- noqa: RF02
        coalesce(
            {{ age_on('b.date_of_birth', 'w.as_of') }},
            i.latest_age + date_diff(
                'year', strptime(i.latest_age_period, '%Y-%m')::date, w.as_of
            )
        ) as age,
        a.lsoa_name as home_lsoa_name,
        a.ward_code as home_ward_code,
        a.ward_name as home_ward_name,
        a.district_code as home_district_code,
        a.district_name as home_district_name,
        coalesce(s.first_seen, strptime(i.first_month, '%Y-%m')::date) as first_seen,
        coalesce(s.last_seen, last_day(strptime(i.last_month, '%Y-%m'))::date) as last_seen,
        coalesce(s.events, 0) as events
    from identity as i
    left join best_known as b on i.person_id = b.person_id
    cross join release_window as w
    left join areas as a on i.home_lsoa_code = a.lsoa_code
    left join seen as s on i.person_id = s.person_id

)

select * from final

{{ config(alias='person_single_view') }}
-- The single view of a person (after the London Borough of Newham's, London Borough Data
-- Partnership): who they are, where they live and have lived, every agency's reference, and
-- every agency's flags, one row per person ID.

with

people as (

    select * from {{ ref('prep_people') }}

),

flags as (

    select * from {{ ref('prep_person_flags') }}

),

final as (

    select
        p.person_id,
        p.forename,
        p.surname,
        p.names_recorded,
        p.date_of_birth,
        p.age,
        p.sex,
        p.ethnicity,
        p.current_address,
        p.current_postcode,
        p.current_uprn,
        p.home_lsoa_name,
        p.home_ward_name,
        p.home_district_name,
        p.addresses,
        p.agency_refs,
        p.feeds,
        p.records,
        p.events,
        p.first_seen,
        p.last_seen,
        f.* exclude (person_id)  -- noqa: RF02
    from people as p
    left join flags as f on p.person_id = f.person_id

)

select * from final

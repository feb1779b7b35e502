-- Every person record with its person ID and its home as the place spine matched it: the
-- one place the marts read a person's identity and home from.

with

records as (

    select * from {{ ref('int_person_records') }}

),

ids as (

    select * from {{ source('spine', 'person_ids') }}

),

homes as (

    select * from {{ source('spine', 'place_matches') }}

),

gazetteer as (

    select * from {{ source('reference', 'gazetteer') }}

),

areas as (

    select * from {{ ref('prep_areas') }}

),

final as (

    select
        r.person_record_id,
        r.record_id,
        ids.person_id,
        r.source_feed,
        r.agency,
        r.role,
        r.agency_ref,
        r.forename,
        r.surname,
        r.date_of_birth,
        r.age,
        r.sex,
        r.ethnicity,
        r.address,
        r.address_line1,
        coalesce(g.postcode, r.postcode) as postcode,
        h.uprn as home_uprn,
        a.lsoa_code as home_lsoa_code,
        r.period
    from records as r
    inner join ids on r.person_record_id = ids.person_record_id
    left join homes as h on r.person_record_id = h.place_record_id
    left join gazetteer as g on h.uprn = g.uprn
    left join areas as a on h.lsoa_code = a.lsoa_code

)

select * from final

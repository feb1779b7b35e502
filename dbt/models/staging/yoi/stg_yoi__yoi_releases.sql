-- Written by `hub dbt-files` from the feed contract yoi_releases.yml; do not edit.
-- Young Offender Institution releases, from Young Offender Institutions (Youth Custody Service):
-- one row per delivered record, each column typed, named by the concept it carries and
-- standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("PRISON_NUMBER"), '')) as record_key,
        *
    from {{ source('raw', 'yoi_releases') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('yoi_releases') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('RELEASE_ADDRESS') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'yoi_releases' as source_feed,
        nullif(trim("PRISON_NUMBER"), '') as releasee_ref,
        {{ split_name('"NAME"', 'surname', 'surname_first') }} as releasee_surname,
        {{ split_name('"NAME"', 'first_name', 'surname_first') }} as releasee_first_name,
        {{ canonical_code('"GENDER"', 'sex_mf') }} as releasee_sex,
        "GENDER" as releasee_sex_code,
        {{ parse_date('"DATE_OF_BIRTH"', '%d/%m/%Y') }} as releasee_dob,
        nullif(trim("SENTENCE_LENGTH"), '') as sentence,
        nullif(trim("OFFENCE"), '') as offence,
        {{ parse_date('"RELEASE_DATE"', '%d/%m/%Y') }} as release_date,
        nullif(trim("RELEASE_ADDRESS"), '') as releasee_address,
        {{ address_part('RELEASE_ADDRESS', 'address_line1') }} as releasee_address_line1,
        {{ address_part('RELEASE_ADDRESS', 'address_line2') }} as releasee_address_line2,
        {{ address_part('RELEASE_ADDRESS', 'town') }} as releasee_town,
        {{ clean_postcode('"RELEASE_POSTCODE"') }} as releasee_postcode,
        {{ postcode_reason('"RELEASE_POSTCODE"') }} as releasee_postcode_reason,
        try_cast("EASTING" as integer) as releasee_easting,
        try_cast("NORTHING" as integer) as releasee_northing,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged

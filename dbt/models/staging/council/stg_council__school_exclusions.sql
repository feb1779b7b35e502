-- Written by `hub dbt-files` from the feed contract school_exclusions.yml; do not edit.
-- School exclusions, from Local authority education service: one row per delivered record, each
-- column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("Exclusion ID"), '')) as record_key,
        *
    from {{ source('raw', 'school_exclusions') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('school_exclusions') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'school_exclusions' as source_feed,
        nullif(trim("Exclusion ID"), '') as event_ref,
        nullif(trim("UPN"), '') as pupil_ref,
        {{ clean_name('"Forename"') }} as pupil_first_name,
        {{ clean_name('"Surname"') }} as pupil_surname,
        {{ parse_date('"Date Of Birth"', '%Y-%m-%d') }} as pupil_dob,
        try_cast("Age" as integer) as pupil_age,
        {{ canonical_code('"Gender"', 'sex_word') }} as pupil_sex,
        "Gender" as pupil_sex_code,
        {{ canonical_code('"Ethnicity"', 'ethnicity_dfe') }} as pupil_ethnicity,
        "Ethnicity" as pupil_ethnicity_code,
        nullif(trim("Home Address"), '') as pupil_address_line1,
        nullif(trim("Home Town"), '') as pupil_town,
        {{ clean_postcode('"Home Postcode"') }} as pupil_postcode,
        {{ postcode_reason('"Home Postcode"') }} as pupil_postcode_reason,
        nullif(trim("School Name"), '') as location_name,
        try_cast("School Easting" as integer) as location_easting,
        try_cast("School Northing" as integer) as location_northing,
        nullif(trim("Exclusion Type"), '') as exclusion_type,
        {{ parse_date('"Start Date"', '%Y-%m-%d') }} as event_date,
        try_cast("Days Excluded" as integer) as days_excluded,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged

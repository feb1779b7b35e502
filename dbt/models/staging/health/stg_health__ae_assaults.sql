-- Written by `hub dbt-files` from the feed contract ae_assaults.yml; do not edit.
-- A&E attendances for injuries from an assault, from Royal Berkshire and Oxford University
-- Hospitals A&E: one row per delivered record, each column typed, named by the concept it
-- carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("attendance_id"), '')) as record_key,
        *
    from {{ source('raw', 'ae_assaults') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('ae_assaults') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'ae_assaults' as source_feed,
        nullif(trim("attendance_id"), '') as event_ref,
        nullif(trim("hospital_number"), '') as patient_ref,
        {{ clean_name('"forename"') }} as patient_first_name,
        {{ clean_name('"surname"') }} as patient_surname,
        {{ parse_date('"date_of_birth"', '%d/%m/%Y') }} as patient_dob,
        try_cast("age_at_attendance" as integer) as patient_age,
        {{ canonical_code('"gender_code"', 'sex_nhs') }} as patient_sex,
        "gender_code" as patient_sex_code,
        {{ canonical_code('"ethnic_category"', 'ethnicity_nhs') }} as patient_ethnicity,
        "ethnic_category" as patient_ethnicity_code,
        nullif(trim("address_line_1"), '') as patient_address_line1,
        nullif(trim("address_line_2"), '') as patient_address_line2,
        nullif(trim("address_town"), '') as patient_town,
        {{ clean_postcode('"postcode"') }} as patient_postcode,
        {{ postcode_reason('"postcode"') }} as patient_postcode_reason,
        nullif(trim("incident_type"), '') as incident_type,
        {{ parse_date('"incident_date"', '%d/%m/%Y') }} as event_date,
        {{ parse_time('"incident_time"', '%H:%M') }} as event_time,
        nullif(trim("incident_location_type"), '') as location_type,
        nullif(trim("incident_location"), '') as location_description,
        try_cast("incident_easting" as integer) as location_easting,
        try_cast("incident_northing" as integer) as location_northing,
        nullif(trim("reported_to_police"), '') as reported_to_police,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged

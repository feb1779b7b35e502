-- Written by `hub dbt-files` from the feed contract btp_crimes.yml; do not edit.
-- Crimes on overground trains or at stations, from British Transport Police: one row per
-- delivered record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("Crime_Ref"), '')) as record_key,
        *
    from {{ source('raw', 'btp_crimes') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('btp_crimes') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'btp_crimes' as source_feed,
        nullif(trim("Crime_Ref"), '') as event_ref,
        nullif(trim("Offence_Type"), '') as event_type,
        {{ parse_date('"Incident_Date"', '%d-%b-%Y') }} as event_date,
        {{ parse_time('"Incident_Time"', '%H:%M') }} as event_time,
        nullif(trim("Location"), '') as location_description,
        try_cast("Easting" as integer) as location_easting,
        try_cast("Northing" as integer) as location_northing,
        nullif(trim("Offender_Nominal_Ref"), '') as offender_ref,
        {{ clean_name('"Offender_Forename"') }} as offender_first_name,
        {{ clean_name('"Offender_Surname"') }} as offender_surname,
        {{ parse_date('"Offender_DOB"', '%d-%b-%Y') }} as offender_dob,
        try_cast("Offender_Age" as integer) as offender_age,
        {{ canonical_code('"Offender_Sex"', 'sex_mf') }} as offender_sex,
        "Offender_Sex" as offender_sex_code,
        {{ canonical_code('"Offender_Ethnicity"', 'ethnicity_police') }} as offender_ethnicity,
        "Offender_Ethnicity" as offender_ethnicity_code,
        nullif(trim("Victim_Nominal_Ref"), '') as victim_ref,
        {{ clean_name('"Victim_Forename"') }} as victim_first_name,
        {{ clean_name('"Victim_Surname"') }} as victim_surname,
        {{ parse_date('"Victim_DOB"', '%d-%b-%Y') }} as victim_dob,
        try_cast("Victim_Age" as integer) as victim_age,
        {{ canonical_code('"Victim_Sex"', 'sex_mf') }} as victim_sex,
        "Victim_Sex" as victim_sex_code,
        {{ canonical_code('"Victim_Ethnicity"', 'ethnicity_police') }} as victim_ethnicity,
        "Victim_Ethnicity" as victim_ethnicity_code,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged

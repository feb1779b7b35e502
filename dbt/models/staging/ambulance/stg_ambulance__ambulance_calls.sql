-- Written by `hub dbt-files` from the feed contract ambulance_calls.yml; do not edit.
-- Ambulance calls for service, from South Central Ambulance Service: one row per delivered
-- record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("IncidentNumber"), '')) as record_key,
        *
    from {{ source('raw', 'ambulance_calls') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('ambulance_calls') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('PatientAddress') }},
        {{ address_steps('IncidentLocation') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'ambulance_calls' as source_feed,
        nullif(trim("IncidentNumber"), '') as event_ref,
        nullif(trim("PatientRef"), '') as patient_ref,
        {{ clean_name('"FirstName"') }} as patient_first_name,
        {{ clean_name('"Surname"') }} as patient_surname,
        try_cast("Age" as integer) as patient_age,
        {{ canonical_code('"Sex"', 'sex_mf') }} as patient_sex,
        "Sex" as patient_sex_code,
        {{ canonical_code('"Ethnicity"', 'ethnicity_nhs') }} as patient_ethnicity,
        "Ethnicity" as patient_ethnicity_code,
        nullif(trim("PatientAddress"), '') as patient_address,
        {{ address_part('PatientAddress', 'address_line1') }} as patient_address_line1,
        {{ address_part('PatientAddress', 'address_line2') }} as patient_address_line2,
        {{ address_part('PatientAddress', 'town') }} as patient_town,
        {{ clean_postcode('"PatientPostcode"') }} as patient_postcode,
        {{ postcode_reason('"PatientPostcode"') }} as patient_postcode_reason,
        nullif(trim("IncidentType"), '') as event_type,
        {{ parse_date('"IncidentDate"', '%Y-%m-%d') }} as event_date,
        {{ parse_time('"IncidentTime"', '%H:%M') }} as event_time,
        nullif(trim("IncidentLocation"), '') as location_address,
        {{ address_part('IncidentLocation', 'address_line1') }} as location_address_line1,
        {{ address_part('IncidentLocation', 'address_line2') }} as location_address_line2,
        {{ address_part('IncidentLocation', 'town') }} as location_town,
        try_cast("IncidentEasting" as integer) as location_easting,
        try_cast("IncidentNorthing" as integer) as location_northing,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged

{{ config(materialized='incremental', incremental_strategy='replace_months',
          on_schema_change='fail') }}
{%- set in_months = months_to_build() %}
-- Written by `hub dbt-files` from the feed contracts; do not edit.
-- One row per person named in any record of any feed: the common schema the
-- person spine links.

with

mentions as (

    select
        record_id || ':patient' as person_record_id,
        record_id,
        source_feed,
        'health' as agency,
        'patient' as role,
        patient_ref as agency_ref,
        patient_first_name as forename,
        patient_surname as surname,
        patient_dob as date_of_birth,
        patient_age as age,
        patient_sex as sex,
        patient_ethnicity as ethnicity,
        nullif(concat_ws(', ', patient_address_line1, patient_address_line2, patient_town), '') as address,
        patient_address_line1 as address_line1,
        patient_address_line2 as locality,
        patient_town as town,
        patient_postcode as postcode,
        patient_postcode_reason as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_health__ae_assaults') }}
    where (patient_ref is not null or patient_first_name is not null or patient_surname is not null or patient_dob is not null or patient_age is not null or patient_sex is not null or patient_ethnicity is not null or patient_address_line1 is not null or patient_address_line2 is not null or patient_town is not null or patient_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':patient' as person_record_id,
        record_id,
        source_feed,
        'ambulance' as agency,
        'patient' as role,
        patient_ref as agency_ref,
        patient_first_name as forename,
        patient_surname as surname,
        null::date as date_of_birth,
        patient_age as age,
        patient_sex as sex,
        patient_ethnicity as ethnicity,
        nullif(concat_ws(', ', patient_address_line1, patient_address_line2, patient_town), '') as address,
        patient_address_line1 as address_line1,
        patient_address_line2 as locality,
        patient_town as town,
        patient_postcode as postcode,
        patient_postcode_reason as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_ambulance__ambulance_calls') }}
    where (patient_ref is not null or patient_first_name is not null or patient_surname is not null or patient_age is not null or patient_sex is not null or patient_ethnicity is not null or patient_address is not null or patient_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':keeper' as person_record_id,
        record_id,
        source_feed,
        'council' as agency,
        'keeper' as role,
        null::varchar as agency_ref,
        null::varchar as forename,
        null::varchar as surname,
        null::date as date_of_birth,
        null::integer as age,
        null::varchar as sex,
        null::varchar as ethnicity,
        nullif(concat_ws(', ', keeper_address_line1, keeper_address_line2, keeper_town), '') as address,
        keeper_address_line1 as address_line1,
        keeper_address_line2 as locality,
        keeper_town as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_council__asb') }}
    where (keeper_address is not null) and {{ in_months }}

    union all

    select
        record_id || ':offender' as person_record_id,
        record_id,
        source_feed,
        'btp' as agency,
        'offender' as role,
        offender_ref as agency_ref,
        offender_first_name as forename,
        offender_surname as surname,
        offender_dob as date_of_birth,
        offender_age as age,
        offender_sex as sex,
        offender_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_btp__btp_crimes') }}
    where (offender_ref is not null or offender_first_name is not null or offender_surname is not null or offender_dob is not null or offender_age is not null or offender_sex is not null or offender_ethnicity is not null) and {{ in_months }}

    union all

    select
        record_id || ':victim' as person_record_id,
        record_id,
        source_feed,
        'btp' as agency,
        'victim' as role,
        victim_ref as agency_ref,
        victim_first_name as forename,
        victim_surname as surname,
        victim_dob as date_of_birth,
        victim_age as age,
        victim_sex as sex,
        victim_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_btp__btp_crimes') }}
    where (victim_ref is not null or victim_first_name is not null or victim_surname is not null or victim_dob is not null or victim_age is not null or victim_sex is not null or victim_ethnicity is not null) and {{ in_months }}

    union all

    select
        record_id || ':offender' as person_record_id,
        record_id,
        source_feed,
        'buses' as agency,
        'offender' as role,
        null::varchar as agency_ref,
        null::varchar as forename,
        null::varchar as surname,
        null::date as date_of_birth,
        offender_age as age,
        offender_sex as sex,
        offender_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_buses__bus_incidents') }}
    where (offender_age is not null or offender_sex is not null or offender_ethnicity is not null) and {{ in_months }}

    union all

    select
        record_id || ':victim' as person_record_id,
        record_id,
        source_feed,
        'buses' as agency,
        'victim' as role,
        null::varchar as agency_ref,
        null::varchar as forename,
        null::varchar as surname,
        null::date as date_of_birth,
        victim_age as age,
        victim_sex as sex,
        victim_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_buses__bus_incidents') }}
    where (victim_age is not null or victim_sex is not null or victim_ethnicity is not null) and {{ in_months }}

    union all

    select
        record_id || ':offender' as person_record_id,
        record_id,
        source_feed,
        'police' as agency,
        'offender' as role,
        offender_ref as agency_ref,
        offender_first_name as forename,
        offender_surname as surname,
        offender_dob as date_of_birth,
        offender_age as age,
        offender_sex as sex,
        offender_ethnicity as ethnicity,
        nullif(concat_ws(', ', offender_address_line1, offender_address_line2, offender_town), '') as address,
        offender_address_line1 as address_line1,
        offender_address_line2 as locality,
        offender_town as town,
        offender_postcode as postcode,
        offender_postcode_reason as postcode_reason,
        offender_easting as easting,
        offender_northing as northing,
        period
    from {{ ref('stg_police__crime_offender') }}
    where (offender_ref is not null or offender_surname is not null or offender_first_name is not null or offender_dob is not null or offender_age is not null or offender_sex is not null or offender_ethnicity is not null or offender_occupation is not null or offender_address is not null or offender_postcode is not null or offender_easting is not null or offender_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':victim' as person_record_id,
        record_id,
        source_feed,
        'police' as agency,
        'victim' as role,
        victim_ref as agency_ref,
        victim_first_name as forename,
        victim_surname as surname,
        victim_dob as date_of_birth,
        victim_age as age,
        victim_sex as sex,
        victim_ethnicity as ethnicity,
        nullif(concat_ws(', ', victim_address_line1, victim_address_line2, victim_town), '') as address,
        victim_address_line1 as address_line1,
        victim_address_line2 as locality,
        victim_town as town,
        victim_postcode as postcode,
        victim_postcode_reason as postcode_reason,
        victim_easting as easting,
        victim_northing as northing,
        period
    from {{ ref('stg_police__crime_victim') }}
    where (victim_ref is not null or victim_surname is not null or victim_first_name is not null or victim_dob is not null or victim_age is not null or victim_sex is not null or victim_ethnicity is not null or victim_occupation is not null or victim_address is not null or victim_postcode is not null or victim_easting is not null or victim_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':patient' as person_record_id,
        record_id,
        source_feed,
        'health' as agency,
        'patient' as role,
        patient_ref as agency_ref,
        patient_first_name as forename,
        patient_surname as surname,
        patient_dob as date_of_birth,
        patient_age as age,
        patient_sex as sex,
        patient_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        patient_postcode as postcode,
        patient_postcode_reason as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_health__drug_alcohol_admissions') }}
    where (patient_ref is not null or patient_first_name is not null or patient_surname is not null or patient_dob is not null or patient_age is not null or patient_sex is not null or patient_ethnicity is not null or patient_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':detainee' as person_record_id,
        record_id,
        source_feed,
        'police' as agency,
        'detainee' as role,
        detainee_ref as agency_ref,
        detainee_first_name as forename,
        detainee_surname as surname,
        detainee_dob as date_of_birth,
        null::integer as age,
        null::varchar as sex,
        null::varchar as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_police__drug_tests') }}
    where (detainee_ref is not null or detainee_surname is not null or detainee_first_name is not null or detainee_dob is not null) and {{ in_months }}

    union all

    select
        record_id || ':client' as person_record_id,
        record_id,
        source_feed,
        'drug_services' as agency,
        'client' as role,
        client_ref as agency_ref,
        client_first_name as forename,
        client_surname as surname,
        client_dob as date_of_birth,
        client_age as age,
        client_sex as sex,
        client_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        client_postcode as postcode,
        client_postcode_reason as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_drug_services__drug_treatment_adults') }}
    where (client_ref is not null or client_first_name is not null or client_surname is not null or client_dob is not null or client_age is not null or client_sex is not null or client_ethnicity is not null or client_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':client' as person_record_id,
        record_id,
        source_feed,
        'drug_services' as agency,
        'client' as role,
        client_ref as agency_ref,
        client_first_name as forename,
        client_surname as surname,
        client_dob as date_of_birth,
        client_age as age,
        client_sex as sex,
        client_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        client_postcode as postcode,
        client_postcode_reason as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_drug_services__drug_treatment_young_people') }}
    where (client_ref is not null or client_first_name is not null or client_surname is not null or client_dob is not null or client_age is not null or client_sex is not null or client_ethnicity is not null or client_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':client' as person_record_id,
        record_id,
        source_feed,
        'probation' as agency,
        'client' as role,
        client_ref as agency_ref,
        client_first_name as forename,
        client_surname as surname,
        client_dob as date_of_birth,
        client_age as age,
        client_sex as sex,
        null::varchar as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        client_postcode as postcode,
        client_postcode_reason as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_probation__oasys') }}
    where (client_ref is not null or client_first_name is not null or client_surname is not null or client_dob is not null or client_age is not null or client_sex is not null or client_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':offender' as person_record_id,
        record_id,
        source_feed,
        'police' as agency,
        'offender' as role,
        offender_ref as agency_ref,
        offender_first_name as forename,
        offender_surname as surname,
        offender_dob as date_of_birth,
        null::integer as age,
        offender_sex as sex,
        offender_ethnicity as ethnicity,
        nullif(concat_ws(', ', offender_address_line1, offender_address_line2, offender_town), '') as address,
        offender_address_line1 as address_line1,
        offender_address_line2 as locality,
        offender_town as town,
        offender_postcode as postcode,
        offender_postcode_reason as postcode_reason,
        offender_easting as easting,
        offender_northing as northing,
        period
    from {{ ref('stg_police__ppo') }}
    where (offender_ref is not null or offender_surname is not null or offender_sex is not null or offender_dob is not null or offender_ethnicity is not null or offender_occupation is not null or offender_address is not null or offender_easting is not null or offender_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':releasee' as person_record_id,
        record_id,
        source_feed,
        'prisons' as agency,
        'releasee' as role,
        releasee_ref as agency_ref,
        releasee_first_name as forename,
        releasee_surname as surname,
        releasee_dob as date_of_birth,
        null::integer as age,
        releasee_sex as sex,
        null::varchar as ethnicity,
        nullif(concat_ws(', ', releasee_address_line1, releasee_address_line2, releasee_town), '') as address,
        releasee_address_line1 as address_line1,
        releasee_address_line2 as locality,
        releasee_town as town,
        releasee_postcode as postcode,
        releasee_postcode_reason as postcode_reason,
        releasee_easting as easting,
        releasee_northing as northing,
        period
    from {{ ref('stg_prisons__prison_releases') }}
    where (releasee_ref is not null or releasee_surname is not null or releasee_sex is not null or releasee_dob is not null or releasee_address is not null or releasee_postcode is not null or releasee_easting is not null or releasee_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':offender' as person_record_id,
        record_id,
        source_feed,
        'rail' as agency,
        'offender' as role,
        null::varchar as agency_ref,
        null::varchar as forename,
        null::varchar as surname,
        null::date as date_of_birth,
        offender_age as age,
        offender_sex as sex,
        offender_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_rail__rail_tram_incidents') }}
    where (offender_age is not null or offender_sex is not null or offender_ethnicity is not null) and {{ in_months }}

    union all

    select
        record_id || ':victim' as person_record_id,
        record_id,
        source_feed,
        'rail' as agency,
        'victim' as role,
        null::varchar as agency_ref,
        null::varchar as forename,
        null::varchar as surname,
        null::date as date_of_birth,
        victim_age as age,
        victim_sex as sex,
        victim_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_rail__rail_tram_incidents') }}
    where (victim_age is not null or victim_sex is not null or victim_ethnicity is not null) and {{ in_months }}

    union all

    select
        record_id || ':pupil' as person_record_id,
        record_id,
        source_feed,
        'council' as agency,
        'pupil' as role,
        pupil_ref as agency_ref,
        pupil_first_name as forename,
        pupil_surname as surname,
        pupil_dob as date_of_birth,
        pupil_age as age,
        pupil_sex as sex,
        pupil_ethnicity as ethnicity,
        nullif(concat_ws(', ', pupil_address_line1, pupil_town), '') as address,
        pupil_address_line1 as address_line1,
        null::varchar as locality,
        pupil_town as town,
        pupil_postcode as postcode,
        pupil_postcode_reason as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_council__school_exclusions') }}
    where (pupil_ref is not null or pupil_first_name is not null or pupil_surname is not null or pupil_dob is not null or pupil_age is not null or pupil_sex is not null or pupil_ethnicity is not null or pupil_address_line1 is not null or pupil_town is not null or pupil_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':suspect' as person_record_id,
        record_id,
        source_feed,
        'police' as agency,
        'suspect' as role,
        suspect_ref as agency_ref,
        suspect_first_name as forename,
        suspect_surname as surname,
        suspect_dob as date_of_birth,
        suspect_age as age,
        suspect_sex as sex,
        suspect_ethnicity as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_police__stop_search') }}
    where (suspect_ref is not null or suspect_surname is not null or suspect_first_name is not null or suspect_dob is not null or suspect_sex is not null or suspect_age is not null or suspect_ethnicity is not null) and {{ in_months }}

    union all

    select
        record_id || ':owner' as person_record_id,
        record_id,
        source_feed,
        'environment_agency' as agency,
        'owner' as role,
        null::varchar as agency_ref,
        owner_first_name as forename,
        owner_surname as surname,
        null::date as date_of_birth,
        null::integer as age,
        null::varchar as sex,
        null::varchar as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        null::varchar as postcode,
        null::varchar as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_environment_agency__waste_sites') }}
    where (owner_surname is not null) and {{ in_months }}

    union all

    select
        record_id || ':releasee' as person_record_id,
        record_id,
        source_feed,
        'yoi' as agency,
        'releasee' as role,
        releasee_ref as agency_ref,
        releasee_first_name as forename,
        releasee_surname as surname,
        releasee_dob as date_of_birth,
        null::integer as age,
        releasee_sex as sex,
        null::varchar as ethnicity,
        nullif(concat_ws(', ', releasee_address_line1, releasee_address_line2, releasee_town), '') as address,
        releasee_address_line1 as address_line1,
        releasee_address_line2 as locality,
        releasee_town as town,
        releasee_postcode as postcode,
        releasee_postcode_reason as postcode_reason,
        releasee_easting as easting,
        releasee_northing as northing,
        period
    from {{ ref('stg_yoi__yoi_releases') }}
    where (releasee_ref is not null or releasee_surname is not null or releasee_sex is not null or releasee_dob is not null or releasee_address is not null or releasee_postcode is not null or releasee_easting is not null or releasee_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':client' as person_record_id,
        record_id,
        source_feed,
        'yos' as agency,
        'client' as role,
        client_ref as agency_ref,
        client_first_name as forename,
        client_surname as surname,
        client_dob as date_of_birth,
        client_age as age,
        client_sex as sex,
        null::varchar as ethnicity,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as town,
        client_postcode as postcode,
        client_postcode_reason as postcode_reason,
        null::integer as easting,
        null::integer as northing,
        period
    from {{ ref('stg_yos__yos_assessments') }}
    where (client_ref is not null or client_first_name is not null or client_surname is not null or client_dob is not null or client_age is not null or client_sex is not null or client_postcode is not null) and {{ in_months }}

)

select
    mentions.*,
    months.supplies as period_supplies
from mentions
inner join {{ ref('int_periods') }} as months on mentions.period = months.period

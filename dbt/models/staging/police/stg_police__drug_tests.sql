-- Written by `hub dbt-files` from the feed contract drug_tests.yml; do not edit.
-- Drug tests on arrest for trigger offences, from Thames Valley Police (custody): one row per
-- delivered record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("CRIME_REF"), ''), coalesce(trim("CUSTODY_REF"), '')) as record_key,
        *
    from {{ source('raw', 'drug_tests') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('drug_tests') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'drug_tests' as source_feed,
        nullif(trim("CRIME_REF"), '') as event_ref,
        nullif(trim("HO_CODE"), '') as event_type,
        nullif(trim("CUSTODY_REF"), '') as detainee_ref,
        {{ clean_name('"SURNAME"') }} as detainee_surname,
        {{ clean_name('"FORENAMES"') }} as detainee_first_name,
        {{ parse_date('"DOB"', '%d/%m/%Y') }} as detainee_dob,
        nullif(trim("TEST_RESULT"), '') as result,
        nullif(trim("DRUG_TYPE"), '') as drug,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged

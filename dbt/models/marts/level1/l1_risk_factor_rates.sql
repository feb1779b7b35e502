{{ config(alias='risk_factor_rates') }}
-- People with each risk factor (the public-health approach of the Thames Valley Violence Reduction
-- Unit, Thames Valley Together) by the area they live in, per 1,000 residents.
-- Disclosure-controlled like the strategic profile. Rates come from the published (rounded) counts,
-- NULL wherever the count is suppressed: from the unrounded counts, a rate to one decimal place
-- would give the exact count back.

with

people as (

    select * from {{ ref('prep_people') }}

),

flags as (

    select * from {{ ref('prep_person_flags') }}

),

factors as (

    select
        p.person_id,
        p.home_lsoa_code,
        u.risk_factor
    from people as p
    inner join flags as f on p.person_id = f.person_id
    cross join
        unnest([
            case when f.offences > 0 then 'offending' end,
            case when f.victimisations > 0 then 'victim of crime' end,
            case when f.victimisations > 1 then 'repeat victim of crime' end,
            case
                when f.ae_assault_attendances + f.ambulance_assault_calls > 0
                    then 'assault injury (A&E or ambulance)'
            end,
            case when f.drug_treatment_starts > 0 then 'drug treatment' end,
            case when f.drug_alcohol_admissions > 0 then 'drug or alcohol admission' end,
            case when f.school_exclusions > 0 then 'school exclusion' end,
            case when f.custody_releases > 0 then 'released from custody' end,
            case when f.ppo_status is not null then 'prolific and priority offender' end,
            case when f.harm_risk in ('HIGH', 'VERY HIGH') then 'high risk of serious harm' end,
            case when f.yos_persistent then 'persistent young offender' end
        ]) as u (risk_factor)
    where u.risk_factor is not null

),

counted_people as (

    select
        person_id,
        home_lsoa_code as lsoa_code,
        risk_factor
    from factors
    union all
    select distinct
        person_id,
        home_lsoa_code as lsoa_code,
        'any risk factor' as risk_factor
    from factors

),

grid as (

    select distinct risk_factor from counted_people

),

{{ area_cells('counted_people', ['risk_factor'], 'grid') }},

{{ disclosure_control('cells', ['risk_factor']) }},

final as (

    select
        geography,
        area_code,
        area_name,
        parent_code,
        risk_factor,
        value as people,
        suppression,
        population,
        case
            when suppression is null and population > 0
                then round(1000 * value / population, 1)
        end as rate_per_1000
    from controlled

)

select * from final

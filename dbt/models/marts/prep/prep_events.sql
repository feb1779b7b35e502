-- Every event with what the marts say about it beyond int_events: its category's label,
-- its offence group (Home Office classification) and whether a knife was used (the crime's
-- weapon field).

with

events as (

    select * from {{ ref('int_events') }}

),

offences as (

    select
        code,
        label,
        grouping
    from {{ ref('value_set_codes') }}
    where value_set = 'ho_offence'

),

crimes as (

    select
        record_id,
        weapon
    from {{ ref('stg_police__crime_offence') }}

),

final as (

    select
        e.*,
        o.label as category_label,
        replace(o.grouping, '_', ' ') as offence_group,
        c.weapon = 'Knife' as knife_enabled
    from events as e
    left join offences as o on e.category = o.code
    left join crimes as c on e.record_id = c.record_id

)

select * from final

-- The months this release covers and the day it describes people on (the last day of its
-- last month): ages and "current" addresses are as of then, not as of the day it ran.

select
    min(period) as first_month,
    max(period) as last_month,
    count(distinct period) as months,
    last_day(strptime(max(period), '%Y-%m'))::date as as_of
from {{ ref('int_events') }}

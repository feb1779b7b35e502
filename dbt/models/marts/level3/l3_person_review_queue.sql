{{ config(alias='person_review_queue') }}
-- Pairs of person records the spine could not decide, both records side by side, for a
-- reviewer to settle in data/review/person_decisions.csv.

select * from {{ source('spine', 'review_queue') }}
